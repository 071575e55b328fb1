"""Advice with sources: sizing, provider choice, placement, costs, anomalies and SOPs.

Every number comes from the lab's inventory, the lab's own settings, or a data file that cites where
the number was published and when. Where the project cannot know, the advice says so.
"""
