"""Staff sign-in: lockout after failed logins (django-axes) and TOTP two-factor (django-otp).

- backends.py: the lockout check, first of AUTHENTICATION_BACKENDS
- lockout.py: the page a locked-out person sees (AXES_LOCKOUT_CALLABLE)
- forms.py: the admin login form (password, then the code once enrolled) and the enrolment form
- views.py: the enrolment page; middleware.py: enrolment made mandatory by ADMIN_2FA_REQUIRED
"""
