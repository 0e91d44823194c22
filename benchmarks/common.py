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


FRENCH_SUBJECTS = [
    "Ma sœur",
    "La maîtresse",
    "Notre voisine",
    "Une amie de l'église",
    "L'assistante sociale",
    "Ma fille",
    "La dame du marché",
    "Notre groupe",
    "Le médecin",
    "Ma cousine",
]
FRENCH_VERBS = ["nous a dit que", "a expliqué que", "a raconté que", "se souvenait que", "pensait que"]
FRENCH_NOUNS = [  # all feminine: "fermée" and "fermé" sound the same
    "la petite cuisine",
    "la nouvelle école",
    "la gare routière",
    "la boulangerie",
    "la salle de sport",
    "la bibliothèque",
    "la mairie",
    "la pharmacie",
    "la piscine",
    "la rivière",
]
FRENCH_STATES = [
    "était fermée le lundi",
    "était pleine de monde",
    "était très loin de la maison",
    "ouvrait tôt le matin",
    "cherchait des bénévoles",
    "était froide en hiver",
    "avait une longue liste d'attente",
    "avait été repeinte en bleu",
]
FRENCH_ENDINGS = [
    "et nous en avons ri.",
    "alors nous avons marché ensemble.",
    "mais personne ne l'a crue.",
    "et tout a changé.",
    "alors nous avons attendu le soir.",
    "et nous l'avons écrit.",
]
# Nigerian Pidgin as it is commonly written (English-based spelling).
PIDGIN_SUBJECTS = [
    "My sister",
    "Di teacher",
    "Our neighbour",
    "One friend from church",
    "Di social worker",
    "My pikin",
    "Di woman for market",
    "All of us",
    "Di doctor",
    "My cousin",
]
PIDGIN_VERBS = ["tell us say", "explain say", "talk say", "remember say", "believe say"]
PIDGIN_NOUNS = [
    "di small kitchen",
    "di new school",
    "di motor park",
    "di bread shop",
    "di garden",
    "di library",
    "di hospital",
    "di office",
    "di train",
    "di river",
]
PIDGIN_STATES = [
    "no dey open for Monday",
    "full well well",
    "dey far from house",
    "dey open early for morning",
    "need more people wey go help",
    "dey cold for harmattan",
    "get long line",
    "dem paint am blue last year",
]
PIDGIN_ENDINGS = [
    "and we laugh am tire.",
    "so we go there together.",
    "but nobody believe am.",
    "and everything change.",
    "so we wait till evening.",
    "and we write am down.",
    "abeg no vex, na so e be.",
    "wetin we go do? We dey manage.",
]


def _sentences(banks: tuple[list[str], ...], count: int, seed: int) -> list[str]:
    """Sentences of one word-bank choice per slot (subject, verb, noun, state, ending); the
    same seed gives the same sentences (the English ones are those of earlier figures)."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(bank) for bank in banks) for _ in range(count)]


def sentences(count: int, seed: int = 1) -> list[str]:
    return _sentences((SUBJECTS, VERBS, NOUNS, STATES, ENDINGS), count, seed)


def french_sentences(count: int, seed: int = 1) -> list[str]:
    return _sentences(
        (FRENCH_SUBJECTS, FRENCH_VERBS, FRENCH_NOUNS, FRENCH_STATES, FRENCH_ENDINGS), count, seed
    )


def pidgin_sentences(count: int, seed: int = 1) -> list[str]:
    return _sentences(
        (PIDGIN_SUBJECTS, PIDGIN_VERBS, PIDGIN_NOUNS, PIDGIN_STATES, PIDGIN_ENDINGS), count, seed
    )


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
