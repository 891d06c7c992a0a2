"""The node runtime: aiohttp server, peer transport, driver loop, config, logging."""
