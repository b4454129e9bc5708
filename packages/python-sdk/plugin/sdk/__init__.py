"""neko-plugin's Python SDK: the original N.E.K.O. SDK's names over neko-plugin's wire protocol."""

SDK_VERSION = "0.1.0"
