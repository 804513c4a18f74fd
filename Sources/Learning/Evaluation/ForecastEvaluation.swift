/// Rolling-origin evaluation of ``LoadForecaster`` (Hyndman & Koehler's MASE): the forecaster learns the
/// whole series online; from the second half on, every point's forecast `horizon` steps ahead is compared
/// with what came. The scale is the in-sample MAE of the daily seasonal-naive forecast on the first
/// half, so MASE < 1 beats seasonal naive as measured in-sample.
public enum ForecastEvaluation {
    public struct Result: Sendable {
        public let series: String
        public let horizon: Int
        public let points: Int
        /// MASE of the forecaster and of the baselines on the same origins.
        public let forecaster: Double
        public let seasonalNaiveDaily: Double
        public let seasonalNaiveWeekly: Double?
        public let naive: Double
        /// sMAPE (M4) of the forecaster, in percent.
        public let smape: Double
        /// Share of origins where the forecast was below 90 % of the actual (missed capacity).
        public let underForecastRate: Double
        /// The model answering at the end.
        public let model: String
    }

    public static func run(_ values: [Double], series: String, dailyPeriod: Int, weeklyPeriod: Int, horizon: Int) -> Result {
        let split = values.count / 2
        var scaleSum = 0.0
        for i in dailyPeriod..<split { scaleSum += abs(values[i] - values[i - dailyPeriod]) }
        let scale = scaleSum / Double(split - dailyPeriod)

        var forecaster = LoadForecaster(configuration: .init(periods: [dailyPeriod, weeklyPeriod], horizon: horizon))
        var errors = (model: 0.0, daily: 0.0, weekly: 0.0, naive: 0.0)
        var weeklyCount = 0
        var smape = 0.0
        var under = 0
        var count = 0
        for t in values.indices {
            forecaster.observe(values[t])
            let target = t + horizon
            guard t >= split, target < values.count else { continue }
            let actual = values[target]
            let predicted = forecaster.forecast(horizon) ?? values[t]
            errors.model += abs(actual - predicted)
            errors.daily += abs(actual - seasonalNaive(values, origin: t, horizon: horizon, period: dailyPeriod))
            if target - weeklyPeriod * ((horizon + weeklyPeriod - 1) / weeklyPeriod) >= 0 {
                errors.weekly += abs(actual - seasonalNaive(values, origin: t, horizon: horizon, period: weeklyPeriod))
                weeklyCount += 1
            }
            errors.naive += abs(actual - values[t])
            let denominator = abs(actual) + abs(predicted)
            smape += denominator > 0 ? 200 * abs(actual - predicted) / denominator : 0
            if predicted < 0.9 * actual { under += 1 }
            count += 1
        }
        let n = Double(count)
        return Result(
            series: series, horizon: horizon, points: count, forecaster: errors.model / n / scale, seasonalNaiveDaily: errors.daily / n / scale,
            seasonalNaiveWeekly: weeklyCount == count ? errors.weekly / n / scale : nil, naive: errors.naive / n / scale, smape: smape / n,
            underForecastRate: Double(under) / n, model: forecaster.modelDescription
        )
    }

    /// `y_{t+h−m⌈h/m⌉}`.
    static func seasonalNaive(_ values: [Double], origin: Int, horizon: Int, period: Int) -> Double {
        values[origin + horizon - period * ((horizon + period - 1) / period)]
    }
}
