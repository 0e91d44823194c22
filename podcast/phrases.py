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
        "retell": (
            "A computer voice says your words with your melody and your rhythm: nobody can "
            "recognise your voice, but your way of speaking stays."
        ),
        "disguise": (
            "Reduced protection: your own voice, changed. It may be hard to understand, and people "
            "who know you well may still recognise it."
        ),
        "protect_title": "How should your voice be heard?",
        "protect_hint": "Choose one. Everyone will listen to the extract again with your choice.",
        "protect_change": "Change how my voice is heard",
        "protect_now": "This is your choice now.",
        "recommended": "Recommended",
        "choose": "Choose this",
        "choose_reduced": "I choose reduced protection",
        "reduced_summary": "Reduced protection: your own voice, changed (may be hard to understand)",
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
        "wb_title": "Transcript",
        "wb_lines_left": "{n} line(s) not listened to yet (○)",
        "wb_all_heard": "Every line has been listened to and checked.",
        "wb_play": "Play / pause",
        "wb_back": "Back 3 s",
        "wb_her_mic": "Only the speaker's microphone",
        "wb_keys": "Keys: Esc play/pause · F1 back 3 s · F2 forward 3 s · Enter save the line",
        "wb_undo": "Undo the last change",
        "wb_heard": "Listened and checked",
        "wb_mark_selected": "Mark the selected lines checked",
        "wb_mark_all": "Mark the whole transcript checked",
        "wb_select_hint": (
            "Click a line's number to select it, shift-click another to select the lines between."
        ),
        "wb_make_extract": "Make an extract of the selected lines",
        "wb_extract_title": "Title of the extract",
        "wb_join": "Join with the next line",
        "wb_split": "Split the line here",
        "wb_play_here": "Play from here",
        "wb_sensitive_session": "Sensitive word (this session)",
        "wb_sensitive_show": "Sensitive word (the whole show)",
        "wb_sensitive": "Sensitive words",
        "wb_sensitive_hint": "Removed (bleeped) from everything published. Highlighted in the transcript.",
        "wb_session_scope": "this session",
        "wb_show_scope": "whole show",
        "wb_remove": "Remove",
        "wb_add": "Add",
        "wb_extracts": "Extracts",
        "wb_extract": "Extract",
        "wb_saved": "Saved.",
        "wb_conflict": "Someone else changed this line first; it now reads:",
        "wb_speaker": "Speaker",
        "wb_language": "Language",
        "wb_language_uncertain": "The computer was unsure of the language: listen, then choose it",
        "wb_unknown": "unknown",
        "wb_edit": "Correct the text",
        "wb_levels": "Microphone levels",
        "wb_loading_levels": "Measuring the microphone levels…",
        "wb_review_room": "Review room (the group's screen)",
        "wb_facilitator": "facilitator",
        "wb_doubt": "dotted underline: a word the computer was unsure of",
        "wb_language_doubt": "a dashed language (en ?): the computer was unsure which language it is",
        "more_retell": (
            "In our tests, a voice-recognition program was wrong 40-50 % of the time when it tried "
            "to link the computer voice to you (tossing a coin is wrong 50 %). A program that "
            "compares melody and rhythm was wrong only 33-39 % of the time: your way of speaking "
            "can sometimes give you away, and people who know it well may notice it."
        ),
        "more_disguise": (
            "In our tests, a voice-recognition program that had your undisguised voice was wrong "
            "only 31-36 % of the time, and only 9-12 % of the time when it also had this software "
            "(a coin toss is wrong 50 %). A computer could not make out more than half of the "
            "words. People who know you well may recognise you. A computer voice (retell or "
            "revoice) is safer."
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
        "retell": (
            "Une voix d'ordinateur dit vos mots avec votre mélodie et votre rythme : personne ne "
            "peut reconnaître votre voix, mais votre façon de parler reste."
        ),
        "disguise": (
            "Protection réduite : votre propre voix, transformée. Elle peut être difficile à "
            "comprendre, et les personnes qui vous connaissent bien pourraient encore la reconnaître."
        ),
        "protect_title": "Comment votre voix doit-elle être entendue ?",
        "protect_hint": "Choisissez-en une. Tout le monde réécoutera l'extrait avec votre choix.",
        "protect_change": "Changer la façon dont ma voix est entendue",
        "protect_now": "C'est votre choix actuel.",
        "recommended": "Conseillé",
        "choose": "Choisir",
        "choose_reduced": "Je choisis la protection réduite",
        "reduced_summary": (
            "Protection réduite : votre propre voix, transformée (peut être difficile à comprendre)"
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
        "wb_title": "Transcription",
        "wb_lines_left": "{n} ligne(s) pas encore écoutée(s) (○)",
        "wb_all_heard": "Toutes les lignes ont été écoutées et vérifiées.",
        "wb_play": "Lecture / pause",
        "wb_back": "Reculer de 3 s",
        "wb_her_mic": "Seulement le micro de la personne qui parle",
        "wb_keys": (
            "Touches : Échap lecture/pause · F1 reculer de 3 s · F2 avancer de 3 s · "
            "Entrée enregistrer la ligne"
        ),
        "wb_undo": "Annuler la dernière modification",
        "wb_heard": "Écoutée et vérifiée",
        "wb_mark_selected": "Marquer les lignes choisies comme vérifiées",
        "wb_mark_all": "Marquer toute la transcription comme vérifiée",
        "wb_select_hint": (
            "Cliquez sur le numéro d'une ligne pour la choisir, puis Maj+clic sur une autre "
            "pour choisir les lignes entre les deux."
        ),
        "wb_make_extract": "Faire un extrait des lignes choisies",
        "wb_extract_title": "Titre de l'extrait",
        "wb_join": "Joindre à la ligne suivante",
        "wb_split": "Couper la ligne ici",
        "wb_play_here": "Écouter à partir d'ici",
        "wb_sensitive_session": "Mot sensible (cette séance)",
        "wb_sensitive_show": "Mot sensible (toute l'émission)",
        "wb_sensitive": "Mots sensibles",
        "wb_sensitive_hint": "Retirés (bipés) de tout ce qui est publié. Surlignés dans la transcription.",
        "wb_session_scope": "cette séance",
        "wb_show_scope": "toute l'émission",
        "wb_remove": "Retirer",
        "wb_add": "Ajouter",
        "wb_extracts": "Extraits",
        "wb_extract": "Extrait",
        "wb_saved": "Enregistré.",
        "wb_conflict": "Quelqu'un d'autre a modifié cette ligne avant vous ; elle dit maintenant :",
        "wb_speaker": "Qui parle",
        "wb_language": "Langue",
        "wb_language_uncertain": "L'ordinateur n'était pas sûr de la langue : écoutez, puis choisissez-la",
        "wb_unknown": "inconnue",
        "wb_edit": "Corriger le texte",
        "wb_levels": "Niveau des micros",
        "wb_loading_levels": "Mesure du niveau des micros…",
        "wb_review_room": "Salle d'écoute (l'écran du groupe)",
        "wb_facilitator": "animatrice",
        "wb_doubt": "souligné en pointillés : un mot dont l'ordinateur n'était pas sûr",
        "wb_language_doubt": "une langue en pointillés (en ?) : l'ordinateur n'était pas sûr de la langue",
        "more_retell": (
            "Dans nos essais, un programme de reconnaissance vocale s'est trompé 40 à 50 % du temps "
            "en essayant de relier la voix d'ordinateur à vous (pile ou face se trompe 50 % du "
            "temps). Un programme qui compare la mélodie et le rythme ne s'est trompé que 33 à 39 % "
            "du temps : votre façon de parler peut parfois vous trahir, et les personnes qui la "
            "connaissent bien pourraient la remarquer."
        ),
        "more_disguise": (
            "Dans nos essais, un programme de reconnaissance vocale qui avait votre voix non "
            "transformée ne s'est trompé que 31 à 36 % du temps, et seulement 9 à 12 % du temps "
            "quand il avait aussi ce logiciel (pile ou face se trompe 50 % du temps). Un "
            "ordinateur n'a pas compris plus de la moitié des mots. Les personnes qui vous "
            "connaissent bien pourraient vous reconnaître. Une voix d'ordinateur est plus sûre."
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
