/** Labels shared by every object of one registry instance; the selector is a stable subset. */
export function registryLabels(registryName: string): { labels: Record<string, string>; selector: Record<string, string> } {
    const selector = {
        "app.kubernetes.io/name": "registry",
        "app.kubernetes.io/instance": registryName,
    };
    return {
        selector,
        labels: { ...selector, "app.kubernetes.io/component": "registry", "app.kubernetes.io/managed-by": "pulumi" },
    };
}
