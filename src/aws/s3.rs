//! S3 for the shared journal: one bucket reached in its own region, its objects read, written
//! whole, created only if absent (`If-None-Match: *`, the lock), deleted and listed under a
//! prefix, with typed errors (S3's own codes, and HTTP statuses where S3 sends no body).

use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::region::Region;

use super::config::AwsClients;
use super::error::{AwsError, AwsErrorKind};

const SERVICE: &str = "s3";

/// The header S3 names a bucket's region in, also on errors (a bucket asked for in another region).
const BUCKET_REGION: &str = "x-amz-bucket-region";

/// A bucket, with a client in the bucket's region.
#[derive(Debug, Clone)]
pub struct Bucket {
    client: aws_sdk_s3::Client,
    name: String,
}

/// An object read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// Its bytes.
    pub body: Vec<u8>,
    /// Its ETag, when S3 gave one.
    pub etag: Option<String>,
}

/// An object found by a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
}

/// How a create-if-absent ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// The object did not exist and now does.
    Created,
    /// The object exists already (S3 answered 412 PreconditionFailed, or 409 for a create racing
    /// another): nothing was written.
    Exists,
}

impl Bucket {
    /// Checks that the bucket exists and that `prefix` may be listed in it (one ListObjectsV2 of
    /// at most one key: `s3:ListBucket`, which a policy may limit to the prefix, as HeadBucket
    /// could not be), and follows the bucket to its region when the profile's region is another
    /// one (S3 names it in `x-amz-bucket-region`).
    pub async fn open(clients: &AwsClients, name: &str, prefix: &str) -> Result<Self, AwsError> {
        let mut client = clients.s3.clone();
        // One redirect at most: S3 names the bucket's region on the first answer.
        for _ in 0..2 {
            let probe = client
                .list_objects_v2()
                .bucket(name)
                .prefix(prefix)
                .max_keys(1)
                .send()
                .await;
            let error = match probe {
                Ok(_) => {
                    return Ok(Self {
                        client,
                        name: name.to_owned(),
                    });
                }
                Err(error) => error,
            };
            let elsewhere = error
                .raw_response()
                .and_then(|raw| raw.headers().get(BUCKET_REGION))
                .filter(|region| client.config().region().map(Region::as_ref) != Some(*region))
                .map(str::to_owned);
            match elsewhere {
                Some(region) => client = in_region(&client, &region),
                None => return Err(s3_error("ListObjectsV2", error)),
            }
        }
        Err(AwsError {
            service: SERVICE,
            operation: "ListObjectsV2",
            code: None,
            message: format!("bucket `{name}` kept answering from another region"),
            request_id: None,
            kind: AwsErrorKind::Configuration,
        })
    }

    /// The bucket's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// GetObject; `None` when there is no such object.
    pub async fn get(&self, key: &str) -> Result<Option<Object>, AwsError> {
        let output = match self
            .client
            .get_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) => {
                let error = s3_error("GetObject", error);
                return match error.kind {
                    AwsErrorKind::NotFound if !error.is_code("NoSuchBucket") => Ok(None),
                    _ => Err(error),
                };
            }
        };
        let etag = output.e_tag().map(str::to_owned);
        let body = output.body.collect().await.map_err(|error| AwsError {
            service: SERVICE,
            operation: "GetObject",
            code: None,
            message: format!("the object `{key}` could not be read: {error}"),
            request_id: None,
            kind: AwsErrorKind::Transient,
        })?;
        Ok(Some(Object {
            body: body.into_bytes().to_vec(),
            etag,
        }))
    }

    /// PutObject of a whole object, replacing what is there.
    pub async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), AwsError> {
        self.client
            .put_object()
            .bucket(&self.name)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|error| s3_error("PutObject", error))?;
        Ok(())
    }

    /// PutObject with `If-None-Match: *`: creates the object only if no object has the key.
    pub async fn put_if_absent(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<Created, AwsError> {
        let sent = self
            .client
            .put_object()
            .bucket(&self.name)
            .key(key)
            .content_type(content_type)
            .if_none_match("*")
            .body(ByteStream::from(body))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Created::Created),
            Err(error) => {
                let error = s3_error("PutObject", error);
                if error.is_code("PreconditionFailed")
                    || error.is_code("ConditionalRequestConflict")
                {
                    Ok(Created::Exists)
                } else {
                    Err(error)
                }
            }
        }
    }

    /// DeleteObject (S3 answers success for a key that does not exist).
    pub async fn delete(&self, key: &str) -> Result<(), AwsError> {
        self.client
            .delete_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
            .map_err(|error| s3_error("DeleteObject", error))?;
        Ok(())
    }

    /// Every object under `prefix` (ListObjectsV2, every page), in key order.
    pub async fn list(&self, prefix: &str) -> Result<Vec<Listed>, AwsError> {
        let mut listed = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.name)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|error| s3_error("ListObjectsV2", error))?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    listed.push(Listed {
                        key: key.to_owned(),
                        size: object
                            .size()
                            .and_then(|size| u64::try_from(size).ok())
                            .unwrap_or(0),
                    });
                }
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => break,
            }
        }
        listed.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(listed)
    }
}

/// The same client, in another region.
fn in_region(client: &aws_sdk_s3::Client, region: &str) -> aws_sdk_s3::Client {
    let config = client
        .config()
        .to_builder()
        .region(Region::new(region.to_owned()))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// The typed error of an S3 call. S3 answers HEAD requests without a body (so without a code) and
/// names its own codes (`NoSuchBucket`, `PreconditionFailed`): the kind comes from them and the
/// HTTP status.
fn s3_error<E>(operation: &'static str, error: SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = error.raw_response().map(|raw| raw.status().as_u16());
    let mut typed = AwsError::from_sdk(SERVICE, operation, error);
    match (typed.code.as_deref(), status) {
        (Some("NoSuchBucket" | "NoSuchKey" | "NotFound"), _) | (None, Some(404)) => {
            typed.kind = AwsErrorKind::NotFound;
            if typed.code.is_none() {
                typed.code = Some("NotFound".to_owned());
            }
        }
        (Some("PreconditionFailed" | "ConditionalRequestConflict"), _) => {
            typed.kind = AwsErrorKind::Conflict;
        }
        (Some("Forbidden"), _) | (None, Some(403)) => {
            typed.kind = AwsErrorKind::AccessDenied;
            typed.code = Some("AccessDenied".to_owned());
        }
        (None, Some(412)) => {
            typed.kind = AwsErrorKind::Conflict;
            typed.code = Some("PreconditionFailed".to_owned());
        }
        _ => {}
    }
    typed
}
