"""The cluster log: gateways produce drafts to Kafka (``producer.py``), persister
workers store them and announce the outcome (``persister.py``); ``records.py``
holds the formats they exchange.
"""
