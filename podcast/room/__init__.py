"""The local web application: the participants' review room (and, next, the facilitator's
workbench). Only this package and `podcast.cli` may import the web framework."""
