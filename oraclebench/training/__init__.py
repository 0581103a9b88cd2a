"""Training: one loop and one learning-rate schedule (``loop``) serve every recipe.

``recipes``: the reference fine-tunes (``gpt2-causal``, ``gpt2-abcd``, ``gpt2-mult``,
``gpt2-mult-scratchpad``); ``judge``: the judge transplant recipe (``oraclebench train
judge-transplant``). This layer sits above the models it trains: ``oraclebench.models`` only reads
checkpoints and never imports training.
"""
