/** The SDK version the host ships; plugin manifests' `[plugin.sdk]` ranges are checked against it. */
export const SDK_VERSION = "0.1.0";
