"""Provisioning at the cloud: claim codes, and the enrollment of a gateway that presents one."""
