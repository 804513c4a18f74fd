/// Contextual Anomaly Detector, open-source edition (CAD OSE; M. Smirnov 2016, the NAB competition winner,
/// NAB's `nab/detectors/context_ose`, MIT), ported to Swift with a bound on its context memory.
///
/// Each value is quantised into `valueBits` bits, each bit becoming a "fact". A context pairs a left
/// semi-context (the previous step's facts plus the facts of the contexts that were active then) with a
/// right semi-context (the current facts). The score is high when few of the contexts whose left side
/// matched the past also match the present, and when many new contexts had to be learned:
/// `score = (1 − active/selected + added/potential)/2`. After a raw score ≥ 0.75 the output rests
/// (reports 0) for `restPeriod` steps.
public struct ContextualAnomalyDetector: Sendable {
    /// Largest number of contexts learned; beyond it no new context is stored (memory stays bounded).
    public static let defaultMaxContexts = 40_000

    private let minimum: Double
    private let step: Double
    private let maxBin: Int
    private let restPeriod: Int
    private let baseThreshold = 0.75
    private let maxActiveNeurons = 15
    private let maxLeftSemiContextLength = 7
    private let maxContexts: Int

    private struct LeftSemiContext {
        let size: Int
        var crossed: [Int] = []
        /// Right semi-context id → context id, in insertion order.
        var contexts: [(right: Int, context: Int)] = []
        var contextIndex: [Int: Int] = [:]
    }

    private struct RightSemiContext {
        let size: Int
        var crossed: [Int] = []
    }

    private struct Context {
        var activations = 0
        var zeroLevel: Bool
        let left: Int
        let right: Int
    }

    private struct ContextKey: Hashable {
        let left: [Int]
        let right: [Int]
    }

    private var leftIDs: [[Int]: Int] = [:]
    private var rightIDs: [[Int]: Int] = [:]
    private var lefts: [LeftSemiContext] = []
    private var rights: [RightSemiContext] = []
    private var leftFactIndex: [Int: [Int]] = [:]
    private var rightFactIndex: [Int: [Int]] = [:]
    private var crossedLefts: [Int] = []
    private var crossedRights: [Int] = []
    private var contexts: [Context] = []
    /// The zero-level context created in the current step (0 doubles as "none", as in the original).
    private var newContextID = 0
    private var leftFactsGroup: [Int] = []
    private var stepsSinceHighScore: Int

    /// - Parameters:
    ///   - range: the values' expected range (NAB gives each detector its file's minimum and maximum);
    ///     values outside it are clamped.
    ///   - restPeriod: steps to stay silent after a high raw score (NAB: probation / 5).
    public init(range: ClosedRange<Double>, restPeriod: Int, valueBits: Int = 3, maxContexts: Int = defaultMaxContexts) {
        maxBin = (1 << valueBits) - 1
        let width = range.upperBound - range.lowerBound
        minimum = range.lowerBound
        step = (width == 0 ? Double(maxBin) : width) / Double(maxBin)
        self.restPeriod = max(1, restPeriod)
        self.maxContexts = maxContexts
        // The original starts its score history with 1.0, so it rests first.
        stepsSinceHighScore = 0
    }

    /// Contexts learned so far.
    public var contextCount: Int { contexts.count }

    /// Scores `value` in [0, 1] and learns from it.
    public mutating func process(_ value: Double) -> Double {
        let bin = min(maxBin, max(0, Int((value - minimum) / step)))
        var facts: [Int] = []
        var bits = bin
        var position = 0
        repeat {
            facts.append(position * 2 + (bits & 1))
            bits >>= 1
            position += 1
        } while bits > 0 || position < bitCount
        let (selectedActive, addedOfPotential) = advance(facts.sorted())
        let raw = (1 - selectedActive + addedOfPotential) / 2
        let resting = stepsSinceHighScore < restPeriod
        stepsSinceHighScore = raw >= baseThreshold ? 0 : stepsSinceHighScore + 1
        return resting ? 0 : raw
    }

    private var bitCount: Int { maxBin.bitWidth - maxBin.leadingZeroBitCount }

    private mutating func advance(_ sensorFacts: [Int]) -> (Double, Double) {
        var uniquePotential = Set<ContextKey>()
        var newContextFlag = false
        if !leftFactsGroup.isEmpty && !sensorFacts.isEmpty {
            let zeroLevel = ContextKey(left: leftFactsGroup, right: sensorFacts)
            uniquePotential.insert(zeroLevel)
            newContextFlag = store([zeroLevel], zeroLevel: true) > 0
        }
        cross(right: true, facts: sensorFacts)
        let (active, selected, potential) = activeContexts(newContextFlag: newContextFlag)
        uniquePotential.formUnion(potential)
        let selectedActive = selected > 0 ? Double(active.count) / Double(selected) : 0

        let strongest = active.sorted { a, b in
            let x = contexts[a], y = contexts[b]
            return (x.activations, x.left, x.right) < (y.activations, y.left, y.right)
        }.suffix(maxActiveNeurons)
        var group = Set(sensorFacts)
        for context in strongest { group.insert((1 << 31) + context) }
        leftFactsGroup = group.sorted()

        var added = potential.isEmpty ? 0 : store(potential, zeroLevel: false)
        cross(right: false, facts: leftFactsGroup)
        if newContextFlag { added += 1 }
        let addedOfPotential = newContextFlag && !uniquePotential.isEmpty ? Double(added) / Double(uniquePotential.count) : 0
        return (selectedActive, addedOfPotential)
    }

    /// Stores contexts not yet known; returns how many were new. A zero-level context is marked as such
    /// and becomes this step's `newContextID` when new.
    private mutating func store(_ keys: [ContextKey], zeroLevel: Bool) -> Int {
        var added = 0
        for key in keys {
            let leftID: Int
            if let known = leftIDs[key.left] {
                leftID = known
            } else {
                leftID = lefts.count
                leftIDs[key.left] = leftID
                lefts.append(LeftSemiContext(size: key.left.count))
                for fact in key.left { leftFactIndex[fact, default: []].append(leftID) }
            }
            let rightID: Int
            if let known = rightIDs[key.right] {
                rightID = known
            } else {
                rightID = rights.count
                rightIDs[key.right] = rightID
                rights.append(RightSemiContext(size: key.right.count))
                for fact in key.right { rightFactIndex[fact, default: []].append(rightID) }
            }
            if let existing = lefts[leftID].contextIndex[rightID] {
                if zeroLevel {
                    contexts[existing].zeroLevel = true
                    return 0
                }
            } else if contexts.count < maxContexts {
                let id = contexts.count
                lefts[leftID].contextIndex[rightID] = id
                lefts[leftID].contexts.append((rightID, id))
                contexts.append(Context(zeroLevel: zeroLevel, left: leftID, right: rightID))
                added += 1
                if zeroLevel {
                    newContextID = id
                    return 1
                }
            } else if zeroLevel {
                return 0
            }
        }
        return added
    }

    /// Records, for every semi-context of one side, which of `facts` it contains.
    private mutating func cross(right: Bool, facts: [Int]) {
        if right {
            for id in crossedRights { rights[id].crossed.removeAll(keepingCapacity: true) }
        } else {
            for id in crossedLefts { lefts[id].crossed.removeAll(keepingCapacity: true) }
        }
        var touched: [Int] = []
        for fact in facts {
            for id in (right ? rightFactIndex[fact] : leftFactIndex[fact]) ?? [] {
                if right {
                    if rights[id].crossed.isEmpty { touched.append(id) }
                    rights[id].crossed.append(fact)
                } else {
                    if lefts[id].crossed.isEmpty { touched.append(id) }
                    lefts[id].crossed.append(fact)
                }
            }
        }
        touched.sort()
        if right { crossedRights = touched } else { crossedLefts = touched }
    }

    /// Contexts whose left side matched the previous step completely and whose right side matches now;
    /// how many had a fully matched left side; and the partial matches that may become new contexts.
    private mutating func activeContexts(newContextFlag: Bool) -> (active: [Int], selected: Int, potential: [ContextKey]) {
        var active: [Int] = []
        var selected = 0
        var potential: [ContextKey] = []
        for leftID in crossedLefts {
            let left = lefts[leftID]
            for (rightID, contextID) in left.contexts where contextID != newContextID {
                let right = rights[rightID]
                let rightCount = right.crossed.count
                if left.size == left.crossed.count {
                    selected += 1
                    guard rightCount > 0 else { continue }
                    if right.size == rightCount {
                        contexts[contextID].activations += 1
                        active.append(contextID)
                    } else if contexts[contextID].zeroLevel && newContextFlag && left.crossed.count <= maxLeftSemiContextLength {
                        potential.append(ContextKey(left: left.crossed, right: right.crossed))
                    }
                } else if contexts[contextID].zeroLevel && newContextFlag && rightCount > 0 && left.crossed.count <= maxLeftSemiContextLength {
                    potential.append(ContextKey(left: left.crossed, right: right.crossed))
                }
            }
        }
        newContextID = 0
        return (active, selected, potential)
    }
}
