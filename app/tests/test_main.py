from fastapi.testclient import TestClient

from main import SERVICE_NAME, VERSION, app

client = TestClient(app)


def test_health_is_ok():
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_root_names_the_service():
    response = client.get("/")
    assert response.status_code == 200
    assert response.json() == {"service": SERVICE_NAME, "version": VERSION}


def test_unknown_path_is_404():
    assert client.get("/nope").status_code == 404
