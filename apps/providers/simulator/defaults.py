"""Credentials the simulator accepts when started without --aliyun-key/--tencent-key/--plivo-auth.

They are public demo values, known only to the local simulator: the demo accounts of
`make run` use them, and no real provider would accept them.
"""

DEMO_ALIYUN_KEY = ("LTAI5tSmsdashDemoKey01", "smsdash-demo-aliyun-secret")
DEMO_TENCENT_KEY = ("AKIDsmsdashDemoSecretId01", "smsdash-demo-tencent-secret")
DEMO_TENCENT_APP_ID = "1400000001"
DEMO_PLIVO_AUTH = ("MASMSDASHDEMO0000001", "smsdash-demo-plivo-token")
DEFAULT_PORT = 8025
