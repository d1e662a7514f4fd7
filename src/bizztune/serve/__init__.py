"""``bizztune serve``: a fine-tuned model behind an HTTP API on one machine (docs/serving.md).

    bizztune serve --model smollm2-135m --adapter runs/train/lora --port 8000

``config.py`` (ServeConfig, the limits), ``batcher.py`` (one worker thread owns the model and
answers micro-batches), ``bodies.py`` (request bodies checked into Requests, with one clear
message per mistake), ``app.py`` (the FastAPI routes), ``server.py`` (load, then uvicorn).
fastapi and uvicorn are imported inside ``app.py`` and ``server.py`` only.
"""
