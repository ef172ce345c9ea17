"""The browser libraries come from the app itself, and only from their dist folders."""

from __future__ import annotations

from flask.testing import FlaskClient

SERVED = [
    "/vendor/leaflet/leaflet.js",
    "/vendor/leaflet/leaflet.css",
    "/vendor/leaflet/images/marker-icon.png",
    "/vendor/leaflet.markercluster/leaflet.markercluster.js",
    "/vendor/leaflet.markercluster/MarkerCluster.css",
]

REFUSED = [
    "/vendor/leaflet/../package.json",
    "/vendor/leaflet/..%2fpackage.json",
    "/vendor/leaflet/%2e%2e/package.json",
    "/vendor/leaflet.markercluster/../../leaflet/package.json",
    "/vendor/leaflet/..%5c..%5cpackage.json",
    "/vendor/other/index.js",
    "/vendor/..%2f..%2fpyproject.toml/x",
    "/vendor/leaflet/%2fetc%2fpasswd",
    "/vendor/leaflet//etc/passwd",
    "/vendor/leaflet/nothing-here.js",
]


def test_library_files_are_served(client: FlaskClient) -> None:
    for path in SERVED:
        with client.get(path) as response:
            assert response.status_code == 200, path
            assert response.data, path


def test_nothing_outside_the_dist_folders(client: FlaskClient) -> None:
    for path in REFUSED:
        with client.get(path, follow_redirects=True) as response:
            assert response.status_code == 404, path


def test_pages_hand_settings_to_scripts_without_inline_code(client: FlaskClient) -> None:
    for path in ("/", "/login", "/settings"):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert '<script type="application/json" id="page-config">' in html
        assert "<script>" not in html and " style=" not in html and " onclick=" not in html
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
