#include "natscli.h"

#include <QFileInfo>
#include <QUrl>

namespace ResWatch::NatsCli {

namespace {

const QString NatsOption = QStringLiteral("nats");
const QString UserOption = QStringLiteral("user");
const QString TokenOption = QStringLiteral("token");
const QString CredsOption = QStringLiteral("creds");
const QString CaOption = QStringLiteral("tls-ca");
const QString CertOption = QStringLiteral("tls-cert");
const QString KeyOption = QStringLiteral("tls-key");

bool checkReadable(const QString &path, const QString &what, QString *error)
{
    if (path.isEmpty())
        return true;
    const QFileInfo info(path);
    if (!info.isFile() || !info.isReadable()) {
        *error = QStringLiteral("cannot read the %1 file %2").arg(what, path);
        return false;
    }
    return true;
}

} // namespace

void addOptions(QCommandLineParser &parser, const QString &passwordOption)
{
    parser.addOptions({
        { NatsOption,
          QStringLiteral("NATS server URL(s), comma-separated or repeated (default: $NATS_URL, else "
                         "nats://127.0.0.1:4222)."),
          QStringLiteral("url") },
        { UserOption, QStringLiteral("NATS user (default: $NATS_USER)."), QStringLiteral("name") },
        { passwordOption, QStringLiteral("NATS password (default: $NATS_PASSWORD)."),
          QStringLiteral("password") },
        { TokenOption, QStringLiteral("NATS token (default: $NATS_TOKEN)."), QStringLiteral("token") },
        { CredsOption, QStringLiteral("NATS credentials file (default: $NATS_CREDS)."),
          QStringLiteral("file") },
        { CaOption, QStringLiteral("TLS: CA certificate(s) to trust."), QStringLiteral("file") },
        { CertOption, QStringLiteral("TLS: client certificate."), QStringLiteral("file") },
        { KeyOption, QStringLiteral("TLS: client key."), QStringLiteral("file") },
    });
}

bool readOptions(const QCommandLineParser &parser, NatsOptions *options, QString *error,
                 const QString &passwordOption)
{
    *options = NatsOptions::fromEnvironment();
    if (parser.isSet(NatsOption)) {
        options->urls.clear();
        // Repeated --nats options add up (value() would keep only the last one).
        for (const QString &value : parser.values(NatsOption)) {
            for (const QString &text : value.split(QLatin1Char(','), Qt::SkipEmptyParts))
                options->urls.append(text.trimmed());
        }
    }
    if (options->urls.isEmpty())
        options->urls = NatsOptions::defaultUrls();
    for (QString &text : options->urls) {
        // "host:port" alone is what people type; nats.c wants a scheme.
        if (!text.contains(QLatin1String("://")))
            text.prepend(QLatin1String("nats://"));
        const QUrl url(text, QUrl::StrictMode);
        const QString scheme = url.scheme();
        if (!url.isValid() || url.host().isEmpty()
            || (scheme != QLatin1String("nats") && scheme != QLatin1String("tls"))) {
            *error = QStringLiteral("invalid NATS URL '%1' (expected nats://host:port or tls://host:port)")
                         .arg(text);
            return false;
        }
    }
    if (parser.isSet(UserOption))
        options->user = parser.value(UserOption);
    if (parser.isSet(passwordOption))
        options->password = parser.value(passwordOption);
    if (parser.isSet(TokenOption))
        options->token = parser.value(TokenOption);
    if (parser.isSet(CredsOption))
        options->credentialsFile = parser.value(CredsOption);
    options->caFile = parser.value(CaOption);
    options->certFile = parser.value(CertOption);
    options->keyFile = parser.value(KeyOption);
    if (options->certFile.isEmpty() != options->keyFile.isEmpty()) {
        *error = QStringLiteral("--tls-cert and --tls-key go together");
        return false;
    }
    return checkReadable(options->credentialsFile, QStringLiteral("credentials"), error)
        && checkReadable(options->caFile, QStringLiteral("CA certificate"), error)
        && checkReadable(options->certFile, QStringLiteral("certificate"), error)
        && checkReadable(options->keyFile, QStringLiteral("key"), error);
}

QString describeUrls(const NatsOptions &options)
{
    QStringList urls;
    for (const QString &text : options.urls) {
        QUrl url(text);
        url.setUserInfo(QString());
        urls.append(url.toString());
    }
    return urls.join(QStringLiteral(", "));
}

} // namespace ResWatch::NatsCli
