"""Sign-in cost: HydroML's sign_in (argon2id verify + throttle query + session row) vs a bare argon2id verify.

The password hash dominates by design; this shows how much our session and throttling bookkeeping adds.
Run: .venv/bin/python -m benchmarks.auth
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from benchmarks.common import timed, write_results


def main(repeat: int = 30) -> list[dict]:
    tmp = Path(tempfile.mkdtemp(prefix="hydroml-bench-"))
    os.environ["REFLEX_DB_URL"] = f"sqlite:///{tmp / 'bench.db'}"
    os.environ["HYDROML_DATA_DIR"] = str(tmp)
    os.environ["HYDROML_LOGIN_MAX_FAILURES"] = str(10**6)
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher
    from sqlmodel import SQLModel

    import hydroml.models  # noqa: F401
    from hydroml.db import get_engine
    from hydroml.services import auth

    SQLModel.metadata.create_all(get_engine())
    password = "gauge-reading-7"
    auth.register("bench_user", password)
    hasher = PasswordHash((Argon2Hasher(),))
    stored = hasher.hash(password)

    records = []
    hydroml_sign_in = timed(lambda: auth.sign_in("bench_user", password), repeat)
    bare_verify = timed(lambda: hasher.verify(password, stored), repeat)
    records.append(
        {
            "case": "sign_in",
            "size": f"{repeat} sign-ins",
            "hydroml": hydroml_sign_in,
            "baseline": {"what": "pwdlib argon2id verify only", **bare_verify},
            "ratio": round(hydroml_sign_in["p50_ms"] / bare_verify["p50_ms"], 2),
        }
    )
    token = auth.sign_in("bench_user", password).token
    check = timed(lambda: auth.current_user(token), repeat * 10)
    records.append(
        {
            "case": "session_check",
            "size": "per handler call",
            "hydroml": check,
            "baseline": None,
            "ratio": None,
        }
    )
    path = write_results("auth", records)
    for record in records:
        print(record["case"], record["hydroml"], "ratio", record["ratio"])
    print("written", path)
    return records


if __name__ == "__main__":
    main()
