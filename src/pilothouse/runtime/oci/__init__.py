"""Real containers: crun or runc bundles under conmon monitors, cgroups, sandboxes (see runtime.py)."""
