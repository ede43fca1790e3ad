"""Rendering an estate for a Kubernetes cluster: one pod per part, a Service, a Secret and the topology.

Objects are plain dicts built by small functions (`render.render_estate`), written as YAML by
`manifests`; nothing here talks to a cluster.
"""
