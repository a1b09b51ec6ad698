"""A real `opcore serve` for the OAuth client suite: a temporary store, a free loopback
port, the issuer and authorization-endpoint options set, and three clients registered
through the Manage API. The host's consent step is `opcore oauth authorize`."""

import json
import os
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

REDIRECT_URI = "http://127.0.0.1:8765/callback"


@dataclass
class Client:
    id: str
    secret: str


@dataclass
class Server:
    base: str
    db: str
    options: str
    root: Client
    app: Client
    other: Client

    @property
    def metadata_url(self):
        return self.base + "/.well-known/oauth-authorization-server"

    def cli(self, *args):
        out = subprocess.run(
            [os.environ["OPCORE_BIN"], "--db", self.db, "--options", self.options, *args],
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(out.stdout)

    def consent(self, authorization_url, subject="user-42"):
        """What the host's consent page does once its user agreed: read the authorization
        request authlib built and call `authorize`; returns the redirect URL."""
        q = {k: v[0] for k, v in parse_qs(urlsplit(authorization_url).query).items()}
        assert q["response_type"] == "code"
        # `--flag=value`: a PKCE challenge or a state is base64url and may start with `-`,
        # which the command line would otherwise read as a flag.
        args = [
            "oauth",
            "authorize",
            f"--client-id={q['client_id']}",
            f"--redirect-uri={q['redirect_uri']}",
            f"--code-challenge={q['code_challenge']}",
            f"--code-challenge-method={q['code_challenge_method']}",
            f"--subject={subject}",
        ]
        if "scope" in q:
            args.append(f"--scope={q['scope']}")
        if "state" in q:
            args.append(f"--state={q['state']}")
        return self.cli(*args)["redirectUrl"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server():
    tmp = tempfile.TemporaryDirectory()
    db = os.path.join(tmp.name, "opcore.db")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    options = json.dumps(
        {
            "argon2": {"m_cost": 8, "t_cost": 1, "p_cost": 1},
            "rate_limits": {"manage": {"limit": 10000, "window_seconds": 10}},
            "issuer": base,
            "authorization_endpoint": "https://app.example.com/consent",
        }
    )
    bin_ = os.environ["OPCORE_BIN"]
    boot = json.loads(
        subprocess.run(
            [bin_, "init", "--db", db, "--options", options, "--name", "Acme"],
            check=True, capture_output=True, text=True,
        ).stdout
    )
    root = Client(boot["client"]["id"], boot["client"]["secret"])
    proc = subprocess.Popen(
        [bin_, "serve", "--db", db, "--options", options, "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(base + "/.well-known/oauth-authorization-server", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("opcore serve did not start: " + proc.stderr.read().decode())
            time.sleep(0.05)
        headers = {"openpanel-client-id": root.id, "openpanel-client-secret": root.secret}

        def register(name, type_):
            r = requests.post(
                base + "/manage/clients",
                headers=headers,
                json={"name": name, "type": type_, "redirectUris": [REDIRECT_URI]},
                timeout=10,
            )
            assert r.status_code == 200, r.text
            return Client(r.json()["data"]["id"], r.json()["data"]["secret"])

        yield Server(
            base=base,
            db=db,
            options=options,
            root=root,
            app=register("Partner app", "root"),
            other=register("Writer app", "write"),
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        tmp.cleanup()


@pytest.fixture(scope="session")
def metadata(server):
    r = requests.get(server.metadata_url, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()
