"""The studio: one local web page over the trained models (Gradio). Handlers are plain functions
on arrays (``handlers.py``); ``app.py`` lays them out."""
