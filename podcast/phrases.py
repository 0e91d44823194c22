"""Every fixed phrase a participant or the group is shown, in each language, declared once.

Both front ends use them: the review room's screens and the terminal review. Participant
screens speak *her* language; the facilitator's screens speak the show's. Pidgin speakers
choose English or French (`podcast participant set NAME --language en`).
"""

from __future__ import annotations

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "room": "Review room",
        "extracts": "Extracts of this session",
        "cleared": "Everyone agreed",
        "blocked": "Not broadcast",
        "waiting": "Waiting for answers",
        "listen_together": "Listen together",
        "preparing": "Preparing the protected voices… this takes a moment.",
        "together_hint": "Everyone listens. This is exactly what would be broadcast.",
        "transcript": "What is said",
        "start_round": "Ask each person, one by one",
        "pass_to": "Please give the laptop to",
        "i_am": "I am {name}",
        "not_here": "{name} is not here",
        "private": "Only you see this screen. Nobody will know your answer.",
        "question": "Do you agree that this extract is broadcast?",
        "yes": "Yes",
        "no": "No",
        "later": "Not yet",
        "listen_again": "Listen again",
        "more": "More about how your voice is protected",
        "revoice": "A computer voice reads your words: nobody can recognise your voice.",
        "disguise": "Your own voice, changed: people who know you well may still recognise it.",
        "thanks": "Thank you. Your answer is saved.",
        "give_back": "Please give the laptop back.",
        "next": "Next",
        "done": "Everyone has been asked.",
        "back": "Back",
        "changed": "This extract changed since it was played. Listen to it again together.",
        "play_phrase": "Read aloud",
        "no_extracts": "This session has no extract yet.",
        "keys": "Type y for YES, n for NO, l for NOT YET, then Enter.",
        "keys_again": "Please type y (yes), n (no) or l (not yet), then Enter.",
        "press_enter": "When {name} has the laptop, press Enter.",
        "more_revoice": (
            "In our tests, a voice-recognition program could not tell your synthetic voice from "
            "anyone else's (it was right 50 % of the time, like tossing a coin)."
        ),
        "more_disguise": (
            "In our tests on recorded voices, a voice-recognition program mistook a disguised voice "
            "for someone else's 35-38 % of the time when it only had the undisguised voice, but "
            "only 8-9 % of the time when it also had this software. People who know you well may "
            "recognise you. A computer voice (revoice) is safer."
        ),
    },
    "fr": {
        "room": "Salle d'écoute",
        "extracts": "Extraits de cette séance",
        "cleared": "Toutes d'accord",
        "blocked": "Pas diffusé",
        "waiting": "Réponses en attente",
        "listen_together": "Écouter ensemble",
        "preparing": "Préparation des voix protégées… un instant.",
        "together_hint": "Tout le monde écoute. C'est exactement ce qui serait diffusé.",
        "transcript": "Ce qui est dit",
        "start_round": "Demander à chacune, l'une après l'autre",
        "pass_to": "Donnez l'ordinateur à",
        "i_am": "Je suis {name}",
        "not_here": "{name} n'est pas là",
        "private": "Vous seule voyez cet écran. Personne ne saura votre réponse.",
        "question": "Êtes-vous d'accord pour que cet extrait soit diffusé ?",
        "yes": "Oui",
        "no": "Non",
        "later": "Pas encore",
        "listen_again": "Réécouter",
        "more": "En savoir plus sur la protection de votre voix",
        "revoice": "Une voix d'ordinateur lit vos mots : personne ne peut reconnaître votre voix.",
        "disguise": (
            "Votre propre voix, transformée : les personnes qui vous connaissent bien "
            "pourraient encore la reconnaître."
        ),
        "thanks": "Merci. Votre réponse est enregistrée.",
        "give_back": "Rendez l'ordinateur, s'il vous plaît.",
        "next": "Suivant",
        "done": "Tout le monde a répondu.",
        "back": "Retour",
        "changed": "Cet extrait a changé depuis l'écoute. Réécoutez-le ensemble.",
        "play_phrase": "Lire à voix haute",
        "no_extracts": "Cette séance n'a pas encore d'extrait.",
        "keys": "Tapez o pour OUI, n pour NON, p pour PAS ENCORE, puis Entrée.",
        "keys_again": "Tapez o (oui), n (non) ou p (pas encore), puis Entrée.",
        "press_enter": "Quand {name} a l'ordinateur, appuyez sur Entrée.",
        "more_revoice": (
            "Dans nos essais, un programme de reconnaissance vocale n'a pas su distinguer votre "
            "voix d'ordinateur de celle d'une autre personne (il avait raison une fois sur deux, "
            "comme à pile ou face)."
        ),
        "more_disguise": (
            "Dans nos essais sur des voix enregistrées, un programme de reconnaissance vocale s'est "
            "trompé 35 à 38 % du temps quand il n'avait que la voix non transformée, mais seulement "
            "8 à 9 % du temps quand il avait aussi ce logiciel. Les personnes qui vous connaissent "
            "bien pourraient vous reconnaître. Une voix d'ordinateur est plus sûre."
        ),
    },
}


def phrases(language: str) -> dict[str, str]:
    """The phrases in *language*, English for a language the room does not speak yet."""
    return PHRASES.get(language.split("-")[0], PHRASES["en"])


# A colour and a symbol for each person of a session, by her place in it: distinct within a
# session, and recognisable without reading.
COLOURS = ("#b5179e", "#1d6fb8", "#e07a00", "#2a9d3c", "#7b2cbf", "#c1121f", "#00838f", "#6d4c41")
SYMBOLS = ("circle", "star", "triangle", "square", "heart", "moon", "diamond", "flower")
