"""A local AWS emulator (moto server, extended in-process) on which the real aws-parallelcluster library runs.

Test tooling of the obi.hpc_provisioner collection; not part of the built collection.
"""
