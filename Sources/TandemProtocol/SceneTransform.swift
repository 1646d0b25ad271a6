/// An affine map between normalised stream coordinates, as six numbers `[a, b, c, d, e, f]`:
/// `x' = a·x + b·y + c`, `y' = d·x + e·y + f` (§5.15).
public enum SceneTransform {
    /// Coefficients are finite and at most this large: a zoom of 100× or a shift of 100
    /// stream widths is no camera motion.
    public static let maxMagnitude = 100.0
    public static let identity: [Double] = [1, 0, 0, 0, 1, 0]

    /// Six finite coefficients within ``maxMagnitude`` whose linear part is invertible.
    public static func isValid(_ m: [Double]) -> Bool {
        guard m.count == 6, m.allSatisfy({ $0.isFinite && abs($0) <= maxMagnitude }) else { return false }
        return abs(m[0] * m[4] - m[1] * m[3]) >= 1e-6
    }

    /// `m` applied to `point` (`[x, y]`).
    public static func apply(_ m: [Double], to point: [Double]) -> [Double] {
        [m[0] * point[0] + m[1] * point[1] + m[2], m[3] * point[0] + m[4] * point[1] + m[5]]
    }

    /// The inverse map (`m` must be valid: its linear part is invertible).
    public static func inverse(_ m: [Double]) -> [Double] {
        let det = m[0] * m[4] - m[1] * m[3]
        let (a, b, d, e) = (m[4] / det, -m[1] / det, -m[3] / det, m[0] / det)
        return [a, b, -(a * m[2] + b * m[5]), d, e, -(d * m[2] + e * m[5])]
    }
}
