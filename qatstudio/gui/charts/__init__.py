"""Plots drawn with pyqtgraph: training curves, decision boundaries, the trade-off chart."""
