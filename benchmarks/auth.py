"""Sign-in cost: HydroML's sign_in (argon2id verify + throttle query + session row) vs a bare argon2id verify,
and the per-handler session check. The hash dominates by design; the ratio shows our bookkeeping's cost.

Run: .venv/bin/python -m benchmarks.auth
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from benchmarks.common import median_ms, record, write_results


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
    token = auth.sign_in("bench_user", password).token

    records = [
        record(
            "sign_in_ms (baseline: argon2id verify)",
            None,
            median_ms(lambda: auth.sign_in("bench_user", password), repeat),
            median_ms(lambda: hasher.verify(password, stored), repeat),
            1.2,
        ),
        record(
            "session_check_ms (every handler)",
            None,
            median_ms(lambda: auth.current_user(token), 300),
            None,
            5.0,
        ),
    ]
    write_results("auth", records)
    return records


if __name__ == "__main__":
    main()
