#include "natsconnection.h"
#include "natsserver.h"

#include <QElapsedTimer>
#include <QProcess>
#include <QScopeGuard>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <nats/nats.h>

#include <atomic>
#include <thread>

using namespace ResWatch;

namespace {

NatsOptions optionsFor(const NatsServer &server)
{
    NatsOptions options;
    options.urls = { server.url() };
    options.name = QStringLiteral("tst_natsconnection");
    options.reconnectWaitMs = 50;
    options.maxReconnectWaitMs = 200;
    return options;
}

QByteArrayList subjectsOf(const QList<NatsMessage> &messages)
{
    QByteArrayList subjects;
    for (const NatsMessage &message : messages)
        subjects.append(message.subject);
    return subjects;
}

// Collects every batch of a subscription.
struct Collector
{
    explicit Collector(NatsSubscription *subscription)
    {
        QObject::connect(subscription, &NatsSubscription::received, subscription,
                         [this](const QList<NatsMessage> &batch) {
                             messages.append(batch);
                             ++batches;
                         });
    }
    QList<NatsMessage> messages;
    int batches = 0;
};

// A plain nats.c publisher on its own thread, as a gateway fleet would be.
class Flooder
{
public:
    explicit Flooder(const QString &url)
    {
        const QByteArray urlBytes = url.toUtf8();
        if (natsConnection_ConnectTo(&m_nc, urlBytes.constData()) != NATS_OK)
            return;
        m_thread = std::thread([this] {
            const char payload[] = "{\"gid\":\"gw-1\"}";
            while (!m_stop.load(std::memory_order_relaxed)) {
                if (natsConnection_Publish(m_nc, "conn.flood.connect", payload, sizeof payload - 1)
                    != NATS_OK)
                    break;
                m_published.fetch_add(1, std::memory_order_relaxed);
            }
        });
    }
    ~Flooder()
    {
        m_stop = true;
        if (m_thread.joinable())
            m_thread.join();
        natsConnection_Destroy(m_nc);
    }
    bool isRunning() const { return m_thread.joinable(); }

private:
    natsConnection *m_nc = nullptr;
    std::thread m_thread;
    std::atomic<bool> m_stop { false };
    std::atomic<quint64> m_published { 0 };
};

} // namespace

class TestNatsConnection : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void publishSubscribeWithWildcards_data()
    {
        QTest::addColumn<QByteArray>("pattern");
        QTest::addColumn<QByteArrayList>("expected");

        QTest::newRow("exact") << QByteArray("conn.a.connect") << QByteArrayList { "conn.a.connect" };
        QTest::newRow("one token") << QByteArray("conn.*.connect")
                                   << QByteArrayList { "conn.a.connect", "conn.b.connect" };
        QTest::newRow("rest") << QByteArray("conn.>")
                              << QByteArrayList { "conn.a.connect", "conn.b.connect", "conn.a.disconnect",
                                                  "conn.a.b.connect" };
        QTest::newRow("cid events") << QByteArray("conn.a.*")
                                    << QByteArrayList { "conn.a.connect", "conn.a.disconnect" };
    }

    void publishSubscribeWithWildcards()
    {
        QFETCH(QByteArray, pattern);
        QFETCH(QByteArrayList, expected);

        NatsServer server;
        QVERIFY2(server.start(), qPrintable(server.error()));
        NatsConnection connection;
        QSignalSpy connected(&connection, &NatsConnection::connected);
        QVERIFY2(connection.open(optionsFor(server)), qPrintable(connection.lastError()));
        QCOMPARE(connection.status(), NatsConnection::Status::Connected);
        QCOMPARE(connected.count(), 1);
        QVERIFY(connection.maxPayload() > 0);
        QVERIFY(connection.connectedUrl().contains(QString::number(server.port())));

        NatsSubscription *subscription = connection.subscribe(pattern);
        QVERIFY2(subscription, qPrintable(connection.lastError()));
        QCOMPARE(subscription->subject(), pattern);
        Collector collector(subscription);
        QVERIFY(connection.flush());

        const QByteArrayList published { "conn.a.connect", "conn.b.connect", "conn.a.disconnect",
                                         "conn.a.b.connect", "system.start" };
        for (const QByteArray &subject : published)
            QVERIFY(connection.publish(subject, R"({"gid":"gw-1"})", "reply.to." + subject));
        // A marker on a subject every pattern matches ends the round.
        QVERIFY(connection.publish("conn.a.connect", "end"));
        QTRY_VERIFY_WITH_TIMEOUT(!collector.messages.isEmpty() && collector.messages.last().data == "end",
                                 5000);
        collector.messages.removeLast();

        QCOMPARE(subjectsOf(collector.messages), expected);
        for (const NatsMessage &message : std::as_const(collector.messages)) {
            QCOMPARE(message.data, QByteArray(R"({"gid":"gw-1"})"));
            QCOMPARE(message.reply, "reply.to." + message.subject);
        }
    }

    void manyMessagesArriveCompleteInOrderInFewBatches()
    {
        NatsServer server;
        QVERIFY2(server.start(), qPrintable(server.error()));
        NatsConnection connection;
        QVERIFY2(connection.open(optionsFor(server)), qPrintable(connection.lastError()));
        NatsSubscription *subscription = connection.subscribe("conn.*.connect");
        QVERIFY(subscription);
        QList<NatsMessage> received;
        int batches = 0;
        bool inOrder = true;
        connect(subscription, &NatsSubscription::received, this, [&](const QList<NatsMessage> &batch) {
            ++batches;
            for (const NatsMessage &message : batch) {
                if (message.data.toInt() != received.size())
                    inOrder = false;
                received.append(message);
            }
        });
        QVERIFY(connection.flush());

        // Published from another connection and thread while this one drains, as in production.
        const int count = 100000;
        natsConnection *publisher = nullptr;
        QCOMPARE(natsConnection_ConnectTo(&publisher, server.url().toUtf8().constData()), NATS_OK);
        auto cleanup = qScopeGuard([publisher] { natsConnection_Destroy(publisher); });
        std::thread publishing([publisher] {
            for (int i = 0; i < count; ++i) {
                const QByteArray subject = "conn.c" + QByteArray::number(i % 97) + ".connect";
                const QByteArray data = QByteArray::number(i);
                natsConnection_Publish(publisher, subject.constData(), data.constData(), int(data.size()));
            }
            natsConnection_Flush(publisher);
        });
        auto join = qScopeGuard([&publishing] { publishing.join(); });
        QTRY_COMPARE_WITH_TIMEOUT(received.size(), count, 20000);
        QVERIFY(inOrder);
        QCOMPARE(received.last().data, QByteArray::number(count - 1));
        QCOMPARE(subscription->droppedCount(), quint64(0));
        qInfo("%d messages in %d batches", count, batches);
        QVERIFY2(batches < count / 10, qPrintable(QString::number(batches)));
    }

    void requestCollectsEveryResponder()
    {
        NatsServer server;
        QVERIFY2(server.start(), qPrintable(server.error()));
        NatsConnection responders;
        QVERIFY(responders.open(optionsFor(server)));
        for (int i = 1; i <= 3; ++i) {
            NatsSubscription *responder = responders.subscribe("system.connections");
            QVERIFY(responder);
            connect(responder, &NatsSubscription::received, this,
                    [&responders, i](const QList<NatsMessage> &batch) {
                        for (const NatsMessage &message : batch)
                            responders.publish(message.reply,
                                               R"({"gid":"gw-)" + QByteArray::number(i) + R"("})");
                    });
        }
        QVERIFY(responders.flush());

        NatsConnection connection;
        QVERIFY(connection.open(optionsFor(server)));
        QElapsedTimer elapsed;
        elapsed.start();
        NatsRequest *request = connection.request("system.connections", {}, 300, 5000);
        QSignalSpy finished(request, &NatsRequest::finished);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 6000);
        const auto replies = finished.first().first().value<QList<NatsMessage>>();
        QByteArrayList payloads;
        for (const NatsMessage &reply : replies)
            payloads.append(reply.data);
        std::sort(payloads.begin(), payloads.end());
        QCOMPARE(payloads,
                 (QByteArrayList { R"({"gid":"gw-1"})", R"({"gid":"gw-2"})", R"({"gid":"gw-3"})" }));
        // The quiet window ended it, well before the maximum wait.
        QVERIFY2(elapsed.elapsed() < 3000, qPrintable(QString::number(elapsed.elapsed())));
        QTRY_VERIFY(connection.findChildren<NatsRequest *>().isEmpty()); // deleted itself
    }

    void requestStopsAtMaxReplies()
    {
        NatsServer server;
        QVERIFY2(server.start(), qPrintable(server.error()));
        NatsConnection connection;
        QVERIFY(connection.open(optionsFor(server)));
        for (int i = 0; i < 3; ++i) {
            NatsSubscription *responder = connection.subscribe("auth.test.login");
            QVERIFY(responder);
            connect(responder, &NatsSubscription::received, this,
                    [&connection](const QList<NatsMessage> &batch) {
                        for (const NatsMessage &message : batch)
                            connection.publish(message.reply, R"({"result":null})");
                    });
        }
        QVERIFY(connection.flush());
        QElapsedTimer elapsed;
        elapsed.start();
        NatsRequest *request = connection.request("auth.test.login", "{}", 5000, 10000, 1);
        QSignalSpy finished(request, &NatsRequest::finished);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 4000);
        QCOMPARE(finished.first().first().value<QList<NatsMessage>>().size(), 1);
        QVERIFY(elapsed.elapsed() < 4000);
    }

    void requestMaxWaitBoundsAChattyResponder()
    {
        NatsServer server;
        QVERIFY2(server.start(), qPrintable(server.error()));
        NatsConnection connection;
        QVERIFY(connection.open(optionsFor(server)));
        NatsSubscription *responder = connection.subscribe("system.connections");
        QVERIFY(responder);
        QByteArray replyTo;
        QTimer chatter;
        chatter.setInterval(30);
        connect(&chatter, &QTimer::timeout, this, [&] { connection.publish(replyTo, "again"); });
        connect(responder, &NatsSubscription::received, this, [&](const QList<NatsMessage> &batch) {
            replyTo = batch.first().reply;
            chatter.start();
        });
        QVERIFY(connection.flush());

        QElapsedTimer elapsed;
        elapsed.start();
        NatsRequest *request = connection.request("system.connections", {}, 300, 800);
        QSignalSpy finished(request, &NatsRequest::finished);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 5000);
        const qint64 took = elapsed.elapsed();
        QVERIFY2(took >= 750 && took < 2500, qPrintable(QString::number(took)));
        QVERIFY(finished.first().first().value<QList<NatsMessage>>().size() >= 5);
    }

    void requestWithoutRespondersIsEmptyAfterTheQuietWindow()
    {
        NatsServer server;
        QVERIFY2(server.start(), qPrintable(server.error()));
        NatsConnection connection;
        QVERIFY(connection.open(optionsFor(server)));
        QElapsedTimer elapsed;
        elapsed.start();
        NatsRequest *request = connection.request("system.connections", {}, 200, 5000);
        QSignalSpy finished(request, &NatsRequest::finished);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 5000);
        QVERIFY(finished.first().first().value<QList<NatsMessage>>().isEmpty());
        const qint64 took = elapsed.elapsed();
        QVERIFY2(took >= 180 && took < 2500, qPrintable(QString::number(took)));
    }

    void requestOnAClosedConnectionFinishesEmpty()
    {
        NatsConnection connection;
        NatsRequest *request = connection.request("system.connections", {});
        QSignalSpy finished(request, &NatsRequest::finished);
        QTRY_COMPARE(finished.count(), 1);
        QVERIFY(finished.first().first().value<QList<NatsMessage>>().isEmpty());
        QVERIFY(!connection.lastError().isEmpty());
    }

    void reconnectsAfterServerRestart()
    {
        NatsServer server;
        QVERIFY2(server.start(), qPrintable(server.error()));
        NatsConnection connection;
        QSignalSpy disconnected(&connection, &NatsConnection::disconnected);
        QSignalSpy reconnected(&connection, &NatsConnection::reconnected);
        QSignalSpy statuses(&connection, &NatsConnection::statusChanged);
        QVERIFY(connection.open(optionsFor(server)));
        NatsSubscription *subscription = connection.subscribe("system.>");
        QVERIFY(subscription);
        Collector collector(subscription);

        QVERIFY2(server.restart(), qPrintable(server.error()));
        QTRY_COMPARE_WITH_TIMEOUT(disconnected.count(), 1, 5000);
        QTRY_COMPARE_WITH_TIMEOUT(reconnected.count(), 1, 5000);
        QCOMPARE(connection.status(), NatsConnection::Status::Connected);
        QList<NatsConnection::Status> sequence;
        for (const QList<QVariant> &arguments : std::as_const(statuses))
            sequence.append(arguments.first().value<NatsConnection::Status>());
        QCOMPARE(sequence,
                 (QList<NatsConnection::Status> { NatsConnection::Status::Connected,
                                                  NatsConnection::Status::Reconnecting,
                                                  NatsConnection::Status::Connected }));

        // The subscription was re-established on the new server.
        QVERIFY(connection.publish("system.start", "after"));
        QTRY_COMPARE_WITH_TIMEOUT(collector.messages.size(), 1, 5000);
        QCOMPARE(collector.messages.first().data, QByteArray("after"));
    }

    void connectsOnceTheServerComesUp()
    {
        NatsServer server;
        QVERIFY2(server.start(), qPrintable(server.error()));
        server.stop();

        NatsConnection connection;
        QSignalSpy connected(&connection, &NatsConnection::connected);
        QElapsedTimer elapsed;
        elapsed.start();
        QVERIFY2(connection.open(optionsFor(server)), qPrintable(connection.lastError()));
        QVERIFY(elapsed.elapsed() < 1000); // open() does not wait for the server
        QCOMPARE(connection.status(), NatsConnection::Status::Connecting);
        QVERIFY(!connection.isConnected());
        // Subscriptions made before the server is up take effect when it is.
        NatsSubscription *subscription = connection.subscribe("system.start");
        QVERIFY2(subscription, qPrintable(connection.lastError()));
        Collector collector(subscription);

        QVERIFY2(server.restart(), qPrintable(server.error()));
        QTRY_COMPARE_WITH_TIMEOUT(connected.count(), 1, 5000);
        QCOMPARE(connection.status(), NatsConnection::Status::Connected);
        QVERIFY(connection.publish("system.start", "up"));
        QTRY_COMPARE_WITH_TIMEOUT(collector.messages.size(), 1, 5000);
    }

    void authentication_data()
    {
        QTest::addColumn<QByteArray>("serverConfig");
        QTest::addColumn<QString>("user");
        QTest::addColumn<QString>("secret");
        QTest::addColumn<bool>("accepted");

        const QByteArray password = "authorization { user: alice, password: s3cr3t-pw }\n";
        const QByteArray token = "authorization { token: t0ken-for-reswatch }\n";
        QTest::newRow("right password")
            << password << QStringLiteral("alice") << QStringLiteral("s3cr3t-pw") << true;
        QTest::newRow("wrong password")
            << password << QStringLiteral("alice") << QStringLiteral("wr0ng-pw") << false;
        QTest::newRow("right token") << token << QString() << QStringLiteral("t0ken-for-reswatch") << true;
        QTest::newRow("wrong token") << token << QString() << QStringLiteral("not-the-t0ken") << false;
        QTest::newRow("no credentials") << password << QString() << QString() << false;
    }

    void authentication()
    {
        QFETCH(QByteArray, serverConfig);
        QFETCH(QString, user);
        QFETCH(QString, secret);
        QFETCH(bool, accepted);

        NatsServer::Options serverOptions;
        serverOptions.extraConfig = serverConfig;
        NatsServer server(serverOptions);
        QVERIFY2(server.start(), qPrintable(server.error()));

        NatsConnection connection;
        QSignalSpy connected(&connection, &NatsConnection::connected);
        QSignalSpy closed(&connection, &NatsConnection::closed);
        QSignalSpy errors(&connection, &NatsConnection::errorOccurred);
        NatsOptions options = optionsFor(server);
        options.user = user;
        if (user.isEmpty())
            options.token = secret;
        else
            options.password = secret;
        QVERIFY2(connection.open(options), qPrintable(connection.lastError()));
        if (accepted) {
            QTRY_COMPARE(connection.status(), NatsConnection::Status::Connected);
            QVERIFY(connection.publish("system.start", "{}"));
            QVERIFY(connection.flush());
            return;
        }
        // Refused: nats.c gives up after the same refusal twice, and says why.
        QTRY_COMPARE_WITH_TIMEOUT(closed.count(), 1, 5000);
        QCOMPARE(connection.status(), NatsConnection::Status::Closed);
        QCOMPARE(connected.count(), 0);
        QVERIFY(!errors.isEmpty());
        const QString text = errors.last().first().toString();
        QVERIFY2(text.contains(QLatin1String("authorization"), Qt::CaseInsensitive), qPrintable(text));
        if (!secret.isEmpty()) {
            QVERIFY2(!text.contains(secret), qPrintable(text));
            QVERIFY(!connection.lastError().contains(secret));
        }
    }

    void tlsWithAPrivateCa()
    {
        const QString openssl = QStandardPaths::findExecutable(QStringLiteral("openssl"));
        if (openssl.isEmpty())
            QSKIP("openssl is needed to make a test certificate");
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString cert = dir.filePath(QStringLiteral("cert.pem"));
        const QString key = dir.filePath(QStringLiteral("key.pem"));
        QProcess process;
        process.start(openssl,
                      { QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"),
                        QStringLiteral("ec"), QStringLiteral("-pkeyopt"),
                        QStringLiteral("ec_paramgen_curve:prime256v1"), QStringLiteral("-nodes"),
                        QStringLiteral("-keyout"), key, QStringLiteral("-out"), cert, QStringLiteral("-days"),
                        QStringLiteral("2"), QStringLiteral("-subj"), QStringLiteral("/CN=127.0.0.1"),
                        QStringLiteral("-addext"), QStringLiteral("subjectAltName=IP:127.0.0.1") });
        QVERIFY(process.waitForFinished(10000));
        QCOMPARE(process.exitCode(), 0);

        NatsServer::Options serverOptions;
        serverOptions.extraConfig
            = "tls { cert_file: \"" + cert.toUtf8() + "\", key_file: \"" + key.toUtf8() + "\" }\n";
        NatsServer server(serverOptions);
        QVERIFY2(server.start(), qPrintable(server.error()));

        // Trusting the server's certificate: connected, over TLS.
        NatsOptions options = optionsFor(server);
        options.urls = { QStringLiteral("tls://127.0.0.1:%1").arg(server.port()) };
        options.caFile = cert;
        NatsConnection connection;
        QVERIFY2(connection.open(options), qPrintable(connection.lastError()));
        QTRY_COMPARE_WITH_TIMEOUT(connection.status(), NatsConnection::Status::Connected, 5000);
        NatsSubscription *subscription = connection.subscribe("system.start");
        QVERIFY(subscription);
        Collector collector(subscription);
        QVERIFY(connection.publish("system.start", "{}"));
        QTRY_COMPARE_WITH_TIMEOUT(collector.messages.size(), 1, 5000);

        // Without the CA the server's certificate is not trusted: never connected.
        NatsOptions untrusted = optionsFor(server);
        untrusted.urls = options.urls;
        NatsConnection refused;
        QSignalSpy errors(&refused, &NatsConnection::errorOccurred);
        QVERIFY(refused.open(untrusted));
        QTRY_VERIFY_WITH_TIMEOUT(!errors.isEmpty(), 5000);
        QVERIFY(!refused.isConnected());
        const QString text = errors.last().first().toString();
        QVERIFY2(text.contains(QLatin1String("certificate")), qPrintable(text));
    }

    void malformedCredentialsFileIsRefused_data()
    {
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<QString>("expected");
        QTest::newRow("empty") << QByteArray() << QStringLiteral("holds no NATS user JWT");
        QTest::newRow("not creds") << QByteArray("hello\n") << QStringLiteral("holds no NATS user JWT");
        QTest::newRow("jwt without seed") << QByteArray(
            "-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJKV1QifQ.e30.x\n------END NATS USER JWT------\n")
                                          << QStringLiteral("holds no user NKey seed");
    }

    void malformedCredentialsFileIsRefused()
    {
        QFETCH(QByteArray, content);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QFile file(dir.filePath(QStringLiteral("user.creds")));
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(content);
        file.close();

        NatsOptions options;
        options.urls = { QStringLiteral("nats://127.0.0.1:4222") };
        options.credentialsFile = file.fileName();
        NatsConnection connection;
        QVERIFY(!connection.open(options));
        QVERIFY2(connection.lastError().contains(expected), qPrintable(connection.lastError()));
        QVERIFY(connection.lastError().contains(file.fileName()));
    }

    void unusableOptionsAreRefused_data()
    {
        QTest::addColumn<QString>("url");
        QTest::addColumn<QString>("credentialsFile");
        QTest::addColumn<QString>("caFile");
        QTest::addColumn<QString>("expected");

        const QString missing = QStringLiteral("/nonexistent/reswatch/user.creds");
        QTest::newRow("unreadable credentials")
            << QString() << missing << QString() << QStringLiteral("cannot read the credentials file");
        QTest::newRow("unreadable CA") << QString() << QString() << QStringLiteral("/nonexistent/ca.pem")
                                       << QStringLiteral("cannot read the TLS CA file");
        QTest::newRow("CA file that is no certificate")
            << QString() << QString() << QStringLiteral("@garbage") << QStringLiteral("TLS CA file");
        QTest::newRow("http scheme") << QStringLiteral("http://127.0.0.1:4222") << QString() << QString()
                                     << QStringLiteral("malformed NATS server URL");
        QTest::newRow("no host") << QStringLiteral("nats://:4222") << QString() << QString()
                                 << QStringLiteral("malformed NATS server URL");
        QTest::newRow("bad port") << QStringLiteral("nats://127.0.0.1:99999") << QString() << QString()
                                  << QStringLiteral("malformed NATS server URL");
        QTest::newRow("password in a bad URL")
            << QStringLiteral("nats://alice:pa55word@127.0.0.1:4222/x") << QString() << QString()
            << QStringLiteral("malformed NATS server URL");
    }

    void unusableOptionsAreRefused()
    {
        QFETCH(QString, url);
        QFETCH(QString, credentialsFile);
        QFETCH(QString, caFile);
        QFETCH(QString, expected);

        QTemporaryDir dir;
        if (caFile == QLatin1String("@garbage")) {
            caFile = dir.filePath(QStringLiteral("ca.pem"));
            QFile file(caFile);
            QVERIFY(file.open(QIODevice::WriteOnly));
            file.write("this is not a certificate\n");
        }
        NatsOptions options;
        options.urls = { url.isEmpty() ? QStringLiteral("nats://127.0.0.1:4222") : url };
        options.credentialsFile = credentialsFile;
        options.caFile = caFile;
        NatsConnection connection;
        QSignalSpy statuses(&connection, &NatsConnection::statusChanged);
        QElapsedTimer elapsed;
        elapsed.start();
        QVERIFY(!connection.open(options));
        QVERIFY(elapsed.elapsed() < 1000);
        QVERIFY2(connection.lastError().contains(expected), qPrintable(connection.lastError()));
        if (!credentialsFile.isEmpty())
            QVERIFY(connection.lastError().contains(credentialsFile));
        QVERIFY2(!connection.lastError().contains(QLatin1String("pa55word")),
                 qPrintable(connection.lastError()));
        QCOMPARE(connection.status(), NatsConnection::Status::Closed);
        QCOMPARE(statuses.count(), 0);
        QVERIFY(!connection.subscribe("x"));
        QVERIFY(!connection.publish("x", "y"));
    }

    void natsUrlIsTheDefault()
    {
        NatsServer server;
        QVERIFY2(server.start(), qPrintable(server.error()));
        const QByteArray saved = qgetenv("NATS_URL");
        const bool hadUrl = qEnvironmentVariableIsSet("NATS_URL");
        auto restore = qScopeGuard([&] {
            if (hadUrl)
                qputenv("NATS_URL", saved);
            else
                qunsetenv("NATS_URL");
        });

        qunsetenv("NATS_URL");
        QCOMPARE(NatsOptions::defaultUrls(), QStringList { QStringLiteral("nats://127.0.0.1:4222") });

        qputenv("NATS_URL", " nats://127.0.0.1:1 , " + server.url().toUtf8() + ",");
        QCOMPARE(NatsOptions::defaultUrls(),
                 (QStringList { QStringLiteral("nats://127.0.0.1:1"), server.url() }));
        NatsOptions options; // no URLs: NATS_URL's
        NatsConnection connection;
        QVERIFY2(connection.open(options), qPrintable(connection.lastError()));
        QTRY_COMPARE_WITH_TIMEOUT(connection.status(), NatsConnection::Status::Connected, 5000);
        QVERIFY(connection.connectedUrl().contains(QString::number(server.port())));
    }

    void optionsFromTheEnvironment()
    {
        const QList<QByteArray> names { "NATS_URL", "NATS_USER", "NATS_PASSWORD", "NATS_TOKEN",
                                        "NATS_CREDS" };
        QList<std::optional<QByteArray>> saved;
        for (const QByteArray &name : names)
            saved.append(qEnvironmentVariableIsSet(name.constData())
                             ? std::optional(qgetenv(name.constData()))
                             : std::nullopt);
        auto restore = qScopeGuard([&] {
            for (int i = 0; i < names.size(); ++i) {
                if (saved.at(i))
                    qputenv(names.at(i).constData(), *saved.at(i));
                else
                    qunsetenv(names.at(i).constData());
            }
        });
        qputenv("NATS_URL", "nats://a:4222,nats://b:4222");
        qputenv("NATS_USER", "alice");
        qputenv("NATS_PASSWORD", "pw");
        qputenv("NATS_TOKEN", "tok");
        qputenv("NATS_CREDS", "/etc/nats/user.creds");
        const NatsOptions options = NatsOptions::fromEnvironment();
        QCOMPARE(options.urls,
                 (QStringList { QStringLiteral("nats://a:4222"), QStringLiteral("nats://b:4222") }));
        QCOMPARE(options.user, QStringLiteral("alice"));
        QCOMPARE(options.password, QStringLiteral("pw"));
        QCOMPARE(options.token, QStringLiteral("tok"));
        QCOMPARE(options.credentialsFile, QStringLiteral("/etc/nats/user.creds"));
    }

    void closeEndsTheConnection()
    {
        NatsServer server;
        QVERIFY2(server.start(), qPrintable(server.error()));
        NatsConnection connection;
        QVERIFY(connection.open(optionsFor(server)));
        QSignalSpy closed(&connection, &NatsConnection::closed);
        QSignalSpy errors(&connection, &NatsConnection::errorOccurred);
        connection.close();
        QCOMPARE(closed.count(), 1);
        QCOMPARE(connection.status(), NatsConnection::Status::Closed);
        QVERIFY(!connection.publish("system.start", "{}"));
        QCOMPARE(errors.count(), 1);
        QVERIFY(connection.maxPayload() == 0);
        // And it opens again.
        QVERIFY(connection.open(optionsFor(server)));
        QCOMPARE(connection.status(), NatsConnection::Status::Connected);
    }

    void destroyingWhileFloodedDoesNotCrashNorHang()
    {
        NatsServer server;
        QVERIFY2(server.start(), qPrintable(server.error()));
        Flooder flooder(server.url());
        QVERIFY(flooder.isRunning());
        for (int round = 0; round < 3; ++round) {
            auto *connection = new NatsConnection;
            QVERIFY(connection->open(optionsFor(server)));
            NatsSubscription *subscription = connection->subscribe("conn.*.connect");
            QVERIFY(subscription);
            qint64 received = 0;
            connect(subscription, &NatsSubscription::received, this,
                    [&received](const QList<NatsMessage> &batch) { received += batch.size(); });
            QTRY_VERIFY_WITH_TIMEOUT(received > 10000, 5000);
            QElapsedTimer elapsed;
            elapsed.start();
            delete connection;
            QVERIFY2(elapsed.elapsed() < 2000, qPrintable(QString::number(elapsed.elapsed())));
            // Nothing queued for the dead objects is delivered.
            QCoreApplication::processEvents();
        }
    }

    void slowConsumerIsReported()
    {
        NatsServer server;
        QVERIFY2(server.start(), qPrintable(server.error()));
        NatsConnection connection;
        NatsOptions options = optionsFor(server);
        options.maxPendingMessages = 1000;
        QVERIFY(connection.open(options));
        QSignalSpy errors(&connection, &NatsConnection::errorOccurred);
        NatsSubscription *subscription = connection.subscribe("conn.*.connect");
        QVERIFY(subscription);
        qint64 received = 0;
        connect(subscription, &NatsSubscription::received, this,
                [&received](const QList<NatsMessage> &batch) { received += batch.size(); });
        QVERIFY(connection.flush());

        // The owning thread is busy (it does not return to its event loop) while a
        // burst arrives: more than the limit piles up, and the rest must be dropped.
        natsConnection *publisher = nullptr;
        QCOMPARE(natsConnection_ConnectTo(&publisher, server.url().toUtf8().constData()), NATS_OK);
        auto cleanup = qScopeGuard([publisher] { natsConnection_Destroy(publisher); });
        const int total = 20000;
        for (int i = 0; i < total; ++i)
            QCOMPARE(natsConnection_PublishString(publisher, "conn.x.connect", "{\"gid\":\"gw-1\"}"),
                     NATS_OK);
        QCOMPARE(natsConnection_Flush(publisher), NATS_OK);
        QDeadlineTimer deadline(10000);
        while (subscription->droppedCount() == 0 && !deadline.hasExpired())
            QThread::yieldCurrentThread();
        QVERIFY(subscription->droppedCount() > 0);

        QTRY_COMPARE_WITH_TIMEOUT(quint64(received) + subscription->droppedCount(), quint64(total), 10000);
        QVERIFY(received >= 1000);
        QCOMPARE(errors.count(), 1); // once per burst, not once per message
        const QString text = errors.first().first().toString();
        QVERIFY2(text.contains(QLatin1String("slow consumer"))
                     && text.contains(QLatin1String("conn.*.connect")),
                 qPrintable(text));
        QVERIFY(connection.lastError().contains(QLatin1String("slow consumer")));
    }
};

QTEST_GUILESS_MAIN(TestNatsConnection)
#include "tst_natsconnection.moc"
