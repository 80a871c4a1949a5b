#!/usr/bin/env python3
"""Reads the simulator's GET /_sim/messages JSON on stdin; prints "COUNT SECONDS": how many
messages, and the seconds between the first and the last one's received_at."""
import json
import sys
from datetime import datetime

messages = json.load(sys.stdin)
stamps = sorted(datetime.fromisoformat(m["received_at"].replace("Z", "+00:00")) for m in messages)
span = (stamps[-1] - stamps[0]).total_seconds() if stamps else 0.0
print(f"{len(messages)} {span:.3f}")
