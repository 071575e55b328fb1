"""Who is calling: OpenID Connect tokens from the lab's own identity provider, checked here.

Pure checks (JWT claims, scope mapping, PKCE) beside one I/O edge (`http.py`: discovery, JWKS, introspection,
userinfo, code exchange over httpx). Doors reach it through `reconciler.service.identity`.
"""
