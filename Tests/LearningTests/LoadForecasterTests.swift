import Foundation
import Testing

@testable import Learning

struct LoadForecasterTests {
    func seasonal(_ t: Int) -> Double { 100 + 0.1 * Double(t) + 30 * sin(Double(t) * 2 * .pi / 24) }

    @Test func holtWintersLearnsTrendAndSeason() throws {
        var model = HoltWinters(period: 24, alpha: 0.3, beta: 0.05, gamma: 0.2)
        for t in 0..<47 { model.observe(seasonal(t)) }
        #expect(model.forecast(1) == nil)
        for t in 47..<480 { model.observe(seasonal(t)) }
        for horizon in [1, 6, 30] {
            let forecast = try #require(model.forecast(horizon))
            #expect(abs(forecast - seasonal(479 + horizon)) < 2)
        }
        var writer = BinaryWriter()
        model.encode(into: &writer)
        var reader = BinaryReader(writer.bytes)
        #expect(try HoltWinters(from: &reader) == model)
    }

    @Test func forecasterPicksASeasonalModelAndAnswersBeforeReady() throws {
        var forecaster = LoadForecaster(configuration: .init(periods: [24, 168], horizon: 2))
        #expect(forecaster.forecast() == nil)
        forecaster.observe(5)
        #expect(forecaster.forecast() == 5)
        for t in 1..<400 { forecaster.observe(seasonal(t)) }
        #expect(forecaster.modelDescription.hasPrefix("holt-winters(period 24"))
        let forecast = try #require(forecaster.forecast(2))
        #expect(abs(forecast - seasonal(401)) < 3)
        #expect(try #require(forecaster.peak(over: 24)) >= forecast)
        var writer = BinaryWriter()
        forecaster.encode(into: &writer)
        var reader = BinaryReader(writer.bytes)
        #expect(try LoadForecaster(from: &reader) == forecaster)
    }

    @Test func rollingOriginMASEBeatsSeasonalNaiveOnASmoothSeries() {
        var random = SplitMix64(seed: 3)
        let values = (0..<(24 * 7 * 4)).map { seasonal($0) + random.nextDouble() * 2 }
        let result = ForecastEvaluation.run(values, series: "synthetic", dailyPeriod: 24, weeklyPeriod: 168, horizon: 1)
        #expect(result.forecaster < result.seasonalNaiveDaily)
        #expect(result.points > 300)
    }
}
