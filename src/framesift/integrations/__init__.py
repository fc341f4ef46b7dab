"""framesift inside other tools' harnesses (each module imports its tool; framesift never
imports these modules)."""
