"""Deploying Inkwell: the cluster launcher (``python -m deploy.cluster``), nginx, systemd."""
