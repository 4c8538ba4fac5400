"""Evaluation: metrics (incl. early detection), thresholds, baselines, HTML/JSON reports."""
