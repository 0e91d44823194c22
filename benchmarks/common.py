"""Helpers shared by the benchmarks: generated speech, peak memory of a child process."""

from __future__ import annotations

import random
import subprocess
import time
from dataclasses import dataclass

import psutil

SUBJECTS = [
    "My sister",
    "The teacher",
    "Our neighbour",
    "A friend from church",
    "The social worker",
    "My daughter",
    "The woman at the market",
    "Our group",
    "The doctor",
    "My cousin",
]
VERBS = ["told us that", "explained that", "said that", "remembered that", "believed that"]
NOUNS = [
    "the small kitchen",
    "the new school",
    "the bus station",
    "the bakery",
    "the garden",
    "the library",
    "the hospital",
    "the office",
    "the train",
    "the river",
]
STATES = [
    "was closed on Monday",
    "was full of people",
    "was very far from home",
    "opened early in the morning",
    "needed more volunteers",
    "was cold in winter",
    "had a long waiting list",
    "was painted blue last year",
]
ENDINGS = [
    "and we laughed about it.",
    "so we went together.",
    "but nobody believed her.",
    "and it changed everything.",
    "so we waited until the evening.",
    "and we wrote it down.",
]


def sentences(count: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(NOUNS)} "
        f"{rng.choice(STATES)} {rng.choice(ENDINGS)}"
        for _ in range(count)
    ]


@dataclass(frozen=True)
class Run:
    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    returncode: int
    stderr: str = ""


def measure(command: list[str], env: dict[str, str] | None = None) -> Run:
    """Run a command; wall time, CPU time and peak RSS (sampled every 50 ms, with children).

    ru_maxrss cannot be used: a child forked from this (large) process reports the parent's
    pages until it execs.
    """
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    watched = psutil.Process(process.pid)
    peak = cpu = 0.0
    while process.poll() is None:
        try:
            tree = [watched, *watched.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree))
            times = watched.cpu_times()
            cpu = max(cpu, times.user + times.system + times.children_user + times.children_system)
        except psutil.Error:
            pass
        time.sleep(0.05)
    wall = time.perf_counter() - start
    _, stderr = process.communicate()
    text = stderr.decode(errors="replace")
    if process.returncode != 0:
        print(text[-2000:])
    return Run(wall, cpu, peak / 2**20, process.returncode, text)
