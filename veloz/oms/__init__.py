"""Order management: the gateway loop and the `VenueExec` seam (positions and OMS: issue 6).

Owns order routing between strategies and a venue; must not import a venue directly.
"""
