"""The scenario framework (TF): deployers, workloads, observer, expectations, nemeses."""
