"""What the synthetic sessions of `traceability demo` write and say (cli/demo_sessions.py plans them):
each project's functions in their successive versions, the modules' headers, the prompts and the
failures the tests print."""

from __future__ import annotations

# (module path inside the project, function name) -> versions, oldest first.
FUNCTIONS: dict[str, dict[tuple[str, str], list[str]]] = {
    "invoice-service": {
        ("billing/tax.py", "compute_tax"): [
            "def compute_tax(amount, rate):\n    return amount * rate\n",
            "def compute_tax(amount: float, rate: float) -> float:\n"
            '    """Tax due on ``amount`` at ``rate`` (0.2 = 20 %)."""\n'
            "    if rate < 0:\n"
            '        raise ValueError("rate must be >= 0")\n'
            "    return amount * rate\n",
            "def compute_tax(amount: Decimal, rate: Decimal) -> Decimal:\n"
            '    """Tax due on ``amount`` at ``rate`` (0.2 = 20 %), rounded to cents."""\n'
            "    if rate < 0:\n"
            '        raise ValueError("rate must be >= 0")\n'
            '    return (amount * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)\n',
        ],
        ("billing/discounts.py", "apply_discount"): [
            "def apply_discount(total, percent):\n    return total - total * percent / 100\n",
            "def apply_discount(total: float, percent: float) -> float:\n"
            "    if not 0 <= percent <= 100:\n"
            '        raise ValueError(f"percent out of range: {percent}")\n'
            "    return total - total * percent / 100\n",
            "def apply_discount(total: float, percent: float, *, cap: float | None = None) -> float:\n"
            "    if not 0 <= percent <= 100:\n"
            '        raise ValueError(f"percent out of range: {percent}")\n'
            "    discount = total * percent / 100\n"
            "    if cap is not None:\n"
            "        discount = min(discount, cap)\n"
            "    return total - discount\n",
        ],
    },
    "data-pipeline": {
        ("etl/clean.py", "normalize_record"): [
            "def normalize_record(record):\n    return {k.lower(): v for k, v in record.items()}\n",
            "def normalize_record(record: dict[str, object]) -> dict[str, object]:\n"
            "    out = {}\n"
            "    for key, value in record.items():\n"
            "        if isinstance(value, str):\n"
            "            value = value.strip()\n"
            "        out[key.strip().lower()] = value\n"
            "    return out\n",
            "def normalize_record(record: dict[str, object], *, drop_empty: bool = True) -> dict[str, object]:\n"
            "    out = {}\n"
            "    for key, value in record.items():\n"
            "        if isinstance(value, str):\n"
            "            value = value.strip()\n"
            '        if drop_empty and value in ("", None):\n'
            "            continue\n"
            "        out[key.strip().lower()] = value\n"
            "    return out\n",
        ],
        ("etl/load.py", "batch_insert"): [
            "def batch_insert(conn, rows):\n"
            "    for row in rows:\n"
            '        conn.execute("INSERT INTO events VALUES (%s, %s)", row)\n',
            "def batch_insert(conn, rows, batch_size=500):\n"
            "    for start in range(0, len(rows), batch_size):\n"
            '        conn.executemany("INSERT INTO events VALUES (%s, %s)", rows[start : start + batch_size])\n',
            "def batch_insert(conn, rows, batch_size=500, attempts=3):\n"
            "    for start in range(0, len(rows), batch_size):\n"
            "        chunk = rows[start : start + batch_size]\n"
            "        for attempt in range(attempts):\n"
            "            try:\n"
            '                conn.executemany("INSERT INTO events VALUES (%s, %s)", chunk)\n'
            "                break\n"
            "            except ConnectionError:\n"
            "                if attempt == attempts - 1:\n"
            "                    raise\n"
            "                time.sleep(2**attempt)\n",
        ],
    },
    "cli-tools": {
        ("tools/config.py", "load_config"): [
            "def load_config(path):\n    with open(path) as f:\n        return json.load(f)\n",
            "def load_config(path: str) -> dict:\n"
            "    try:\n"
            "        with open(path) as f:\n"
            "            return json.load(f)\n"
            "    except FileNotFoundError:\n"
            "        return {}\n",
            "def load_config(path: Path, defaults: dict | None = None) -> dict:\n"
            "    config = dict(defaults or {})\n"
            "    try:\n"
            "        config.update(json.loads(path.read_text()))\n"
            "    except FileNotFoundError:\n"
            "        pass\n"
            "    return config\n",
        ],
        ("tools/retry.py", "retry"): [
            "def retry(fn, attempts=3):\n"
            "    for i in range(attempts):\n"
            "        try:\n"
            "            return fn()\n"
            "        except:\n"
            "            pass\n",
            "def retry(fn, attempts=3, delay=0.5):\n"
            "    for i in range(attempts):\n"
            "        try:\n"
            "            return fn()\n"
            "        except Exception:\n"
            "            if i == attempts - 1:\n"
            "                raise\n"
            "            time.sleep(delay * 2**i)\n",
        ],
    },
}

MODULE_HEADERS = {
    "billing/tax.py": "from decimal import ROUND_HALF_UP, Decimal\n\n\n",
    "billing/discounts.py": "",
    "etl/clean.py": "",
    "etl/load.py": "import time\n\n\n",
    "tools/config.py": "import json\nfrom pathlib import Path\n\n\n",
    "tools/retry.py": "import time\n\n\n",
}

PROMPTS = {
    "write": "Add {function} to {module}",
    "edit": "Improve {function} in {module}: handle the edge cases and add types",
    "test": "Run the tests for {module}",
    "explore": "Where is {function} used?",
}
TEST_FAILURES = (
    "FAILED tests/test_{stem}.py::test_{function} - AssertionError: assert 0.2 == 0.19999999999999998",
    "FAILED tests/test_{stem}.py::test_{function}_empty - TypeError: unsupported operand type(s) for *: 'NoneType' and 'float'",
    "E   ModuleNotFoundError: No module named '{stem}_helpers'",
)
