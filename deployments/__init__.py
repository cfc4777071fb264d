"""Ray Serve deployments: thin wrappers over the Ray-free `callytics_ray` core.

`deployments.app:build_app` builds the application; serve_config.yaml (GPU cluster) and
deployments/profiles/cpu.yaml (a laptop-class CPU box) configure it.
"""
