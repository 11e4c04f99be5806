"""Warehouse-native customer segmentation.

Importable without Airflow running: loaders, quality gates, publishing,
reports and the sample-data generator live here; the DAG files under dags/
only wire them together.
"""

__version__ = "0.1.0"
