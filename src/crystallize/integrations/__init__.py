"""Optional bridges to the tools researchers already use, each behind its own extra.

* :mod:`crystallize.integrations.mlflow`: ``MLflowListener`` logs every run, the
  verdicts and the HTML report to MLflow (``pip install "crystallize[mlflow]"``).

Nothing here is imported by ``import crystallize``; each module imports its tool
only when used.
"""
