"""Signs a made-up Max user in to a running server and prints their access token.

The initData is signed by the server's own CLI (`gallery sign-init-data`, with the bot token
in GALLERY_BOT_TOKEN), exactly as Max would sign it.

Usage: python sign_in.py <base url> <Max user id> <first name>
"""

import json
import os
import subprocess
import sys
import urllib.request


def signed_init_data(user_id: int, first_name: str) -> str:
    return subprocess.run(
        [
            os.environ["GALLERY_BIN"],
            "sign-init-data",
            "--user-id",
            str(user_id),
            "--first-name",
            first_name,
            "--language",
            "en",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def access_token(base_url: str, user_id: int, first_name: str) -> str:
    body = json.dumps({"init_data": signed_init_data(user_id, first_name)}).encode()
    request = urllib.request.Request(
        f"{base_url}/api/auth/max",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["access_token"]


if __name__ == "__main__":
    base, user, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    print(access_token(base, user, name))
