"""The rebuild drill and the what-if of proposals, on scratch labs of simulated nodes."""
