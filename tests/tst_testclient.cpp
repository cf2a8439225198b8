#include "testclient.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTest>
#include <QWebSocket>
#include <QWebSocketServer>

using namespace ResWatch;

/// A minimal RES-speaking WebSocket server: answers version, accepts auth for admins only.
class FakeGateway : public QObject
{
public:
    FakeGateway()
    {
        server.listen(QHostAddress::LocalHost, 0);
        connect(&server, &QWebSocketServer::newConnection, this, [this] {
            while (QWebSocket *socket = server.nextPendingConnection()) {
                ++accepted;
                open.insert(socket);
                connect(socket, &QWebSocket::disconnected, this, [this, socket] {
                    open.remove(socket);
                    socket->deleteLater();
                });
                connect(
                    socket, &QWebSocket::textMessageReceived, socket, [this, socket](const QString &text) {
                        const QJsonObject request = QJsonDocument::fromJson(text.toUtf8()).object();
                        const QString method = request.value(QLatin1String("method")).toString();
                        QJsonObject response { { QStringLiteral("id"), request.value(QLatin1String("id")) } };
                        if (method == QLatin1String("version")) {
                            response.insert(
                                QStringLiteral("result"),
                                QJsonObject { { QStringLiteral("protocol"), QStringLiteral("1.2.3") } });
                        } else if (method == QLatin1String("auth.demo.login")) {
                            const QJsonObject params = request.value(QLatin1String("params")).toObject();
                            users << params.value(QLatin1String("user")).toString();
                            if (params.value(QLatin1String("role")).toString() == QLatin1String("admin"))
                                response.insert(QStringLiteral("result"),
                                                QJsonObject { { QStringLiteral("payload"), QJsonValue() } });
                            else
                                response.insert(
                                    QStringLiteral("error"),
                                    QJsonObject {
                                        { QStringLiteral("code"), QStringLiteral("system.accessDenied") },
                                        { QStringLiteral("message"), QStringLiteral("Access denied") } });
                        }
                        socket->sendTextMessage(
                            QString::fromUtf8(QJsonDocument(response).toJson(QJsonDocument::Compact)));
                    });
            }
        });
    }
    QUrl url() const { return QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(server.serverPort())); }

    QSet<QWebSocket *> open;
    QStringList users;
    int accepted = 0;
    // Last, so that it goes first: its sockets report their end into the members above.
    QWebSocketServer server { QStringLiteral("fake"), QWebSocketServer::NonSecureMode };
};

class TestTestClient : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void rejectsBadSettings_data()
    {
        QTest::addColumn<QString>("url");
        QTest::addColumn<int>("count");
        QTest::addColumn<QByteArray>("params");
        QTest::addColumn<QString>("expected");
        QTest::newRow("http url") << "http://127.0.0.1:8080" << 1 << QByteArray("{}")
                                  << "not a WebSocket URL";
        QTest::newRow("no scheme") << "127.0.0.1:8080" << 1 << QByteArray("{}") << "not a WebSocket URL";
        QTest::newRow("zero connections")
            << "ws://127.0.0.1:1" << 0 << QByteArray("{}") << "must be positive";
        QTest::newRow("bad params") << "ws://127.0.0.1:1" << 1 << QByteArray("{user:") << "not valid JSON";
    }
    void rejectsBadSettings()
    {
        QFETCH(QString, url);
        QFETCH(int, count);
        QFETCH(QByteArray, params);
        QFETCH(QString, expected);
        TestClientSettings settings;
        settings.urls = { QUrl(url) };
        settings.connections = count;
        settings.authMethod = QStringLiteral("auth.demo.login");
        settings.authParams = params;
        TestClient client;
        QString error;
        QVERIFY(!client.start(settings, &error));
        QVERIFY2(error.contains(expected), qPrintable(error));
        QVERIFY(!client.isRunning());
    }

    void parsesRolesAndChurn_data()
    {
        QTest::addColumn<QString>("roles");
        QTest::addColumn<bool>("ok");
        QTest::newRow("mix") << "admin:1,guest:9" << true;
        QTest::newRow("default weight") << "admin,guest" << true;
        QTest::newRow("zero weight") << "admin:0" << false;
        QTest::newRow("not a number") << "admin:x" << false;
        QTest::newRow("empty") << "" << false;
        QTest::newRow("empty name") << ":3" << false;
    }
    void parsesRolesAndChurn()
    {
        QFETCH(QString, roles);
        QFETCH(bool, ok);
        QList<TestClientSettings::Role> parsed;
        QString error;
        QCOMPARE(TestClientSettings::parseRoles(roles, &parsed, &error), ok);
        QCOMPARE(error.isEmpty(), ok);
    }

    void parsesChurn()
    {
        int min = 0, max = 0;
        QString error;
        QVERIFY(TestClientSettings::parseChurn(QStringLiteral("5s..30s"), &min, &max, &error));
        QCOMPARE(min, 5000);
        QCOMPARE(max, 30000);
        QVERIFY(TestClientSettings::parseChurn(QStringLiteral("200ms..1m"), &min, &max, &error));
        QCOMPARE(max, 60000);
        QVERIFY(!TestClientSettings::parseChurn(QStringLiteral("30s..5s"), &min, &max, &error));
        QVERIFY(!TestClientSettings::parseChurn(QStringLiteral("5s"), &min, &max, &error));
        QVERIFY(error.contains(QLatin1String("5s..30s")));
    }

    void opensAuthenticatesAndCounts()
    {
        FakeGateway gateway;
        TestClientSettings settings;
        settings.urls = { gateway.url() };
        settings.connections = 40;
        settings.ratePerSecond = 400;
        settings.authMethod = QStringLiteral("auth.demo.login");
        settings.roles = { { QStringLiteral("admin"), 1 }, { QStringLiteral("guest"), 1 } };
        TestClient client;
        QVERIFY(client.start(settings));
        QTRY_COMPARE_WITH_TIMEOUT(client.stats().open, 40, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(client.stats().authAccepted + client.stats().authRefused, 40, 10000);
        const TestClientStats stats = client.stats();
        QCOMPARE(gateway.open.size(), 40);
        QVERIFY(stats.authAccepted > 0);
        QVERIFY(stats.authRefused > 0);
        QCOMPARE(stats.refusalCodes.value(QStringLiteral("system.accessDenied")), stats.authRefused);
        QVERIFY(stats.handshakeP50Ms > 0);
        QVERIFY(stats.handshakeP99Ms >= stats.handshakeP50Ms);
        QVERIFY(gateway.users.contains(QStringLiteral("user-1")));
        QVERIFY(gateway.users.contains(QStringLiteral("user-40")));

        client.stop();
        QTRY_COMPARE_WITH_TIMEOUT(gateway.open.size(), 0, 5000);
        QTRY_COMPARE(client.stats().closed, 40);
    }

    void rampRateIsHonoured()
    {
        FakeGateway gateway;
        TestClientSettings settings;
        settings.urls = { gateway.url() };
        settings.connections = 30;
        settings.ratePerSecond = 50; // 30 connections take about 0.6 s
        settings.sendVersion = false;
        TestClient client;
        QElapsedTimer timer;
        timer.start();
        QVERIFY(client.start(settings));
        QTRY_COMPARE_WITH_TIMEOUT(client.stats().open, 30, 10000);
        QVERIFY2(timer.elapsed() >= 450, qPrintable(QString::number(timer.elapsed())));
    }

    void churnReplacesConnections()
    {
        FakeGateway gateway;
        TestClientSettings settings;
        settings.urls = { gateway.url() };
        settings.connections = 10;
        settings.ratePerSecond = 1000;
        settings.churnMinMs = 50;
        settings.churnMaxMs = 100;
        TestClient client;
        QVERIFY(client.start(settings));
        QTRY_VERIFY_WITH_TIMEOUT(client.stats().closed >= 20, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(gateway.accepted >= 30, 5000);
        QVERIFY(client.stats().open + client.stats().opening <= 10);
    }

    void unreachableGatewayCountsFailures()
    {
        QWebSocketServer probe(QStringLiteral("probe"), QWebSocketServer::NonSecureMode);
        QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
        const quint16 port = probe.serverPort();
        probe.close(); // nothing listens there now
        TestClientSettings settings;
        settings.urls = { QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(port)) };
        settings.connections = 5;
        settings.ratePerSecond = 100;
        TestClient client;
        QVERIFY(client.start(settings));
        QTRY_VERIFY_WITH_TIMEOUT(client.stats().failed >= 5, 10000);
        const TestClientStats stats = client.stats();
        QCOMPARE(stats.opened, 0);
        QVERIFY(!stats.failureReasons.isEmpty());
        QVERIFY2(
            stats.failureReasons.constBegin().key().contains(QLatin1String("refused"), Qt::CaseInsensitive),
            qPrintable(stats.failureReasons.constBegin().key()));
    }
};

QTEST_GUILESS_MAIN(TestTestClient)
#include "tst_testclient.moc"
