"""The reconciler daemon: scheduled, polled and webhook-triggered runs, metrics, notifications, snapshots."""
