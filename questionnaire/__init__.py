"""The questionnaire operators run on screen: its file format, answers and routing (pure)."""
