"""Background syncs from the providers (delivery status, template review): one engine that locks,
records, resumes and paces runs (engine, runs, locks), the schedule, and the template review worker.
The delivery worker lives with its domain, in apps/messaging/delivery/pull.py."""
