# A small Flask app for the docker-compose example: it shows what edge tells the app about the client.
from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/")
def index():
    return jsonify(
        message="hello from Flask behind edge",
        client=request.headers.get("X-Real-IP"),
        scheme=request.headers.get("X-Forwarded-Proto"),
        request_id=request.headers.get("X-Request-Id"),
    )


@app.get("/healthz")
def healthz():
    return "ok\n"
