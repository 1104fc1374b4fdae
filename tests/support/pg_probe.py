"""Exit 0 when PostgreSQL answers at the URL given, 1 otherwise (used by `make test`)."""

import sys

import psycopg
from sqlalchemy.engine import make_url


def main(url: str) -> int:
    parsed = make_url(url)
    try:
        psycopg.connect(
            host=parsed.host, port=parsed.port or 5432, user=parsed.username, dbname=parsed.database,
            password=parsed.password, connect_timeout=3,
        ).close()
    except psycopg.OperationalError:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
